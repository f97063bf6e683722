"""Feedback files for students: one page each (HTML or Markdown), and the zip an LMS takes back.

``view`` decides what a student may see of a verdict; ``grader.report.feedback_page`` renders
it; ``files`` names and writes the pages and packs them for Moodle.
"""

from grader.feedback.files import (FeedbackWritten, moodle_folder, page_name, roster_moodle_folder,
                                   write_feedback_files)
from grader.feedback.view import StudentFeedback, student_visible

__all__ = ["FeedbackWritten", "StudentFeedback", "moodle_folder", "page_name", "roster_moodle_folder",
           "student_visible", "write_feedback_files"]
