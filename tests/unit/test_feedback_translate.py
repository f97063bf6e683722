"""Stored English feedback back through the catalogs' templates (grader.feedback.translate)."""

from grader.feedback.translate import StoredTranslator

CATALOG = {
    "{what} returned {value}{shown}; that is not the right value": "{what} вернула {value}{shown}; это неверное значение",
    "Hint: {hint}": "Подсказка: {hint}",
    "softmax keeps the shape of its input.": "softmax сохраняет форму своего входа.",
    "{what}: shape is {shape}, expected {expected}": "{what}: форма {shape}, ожидалась {expected}",
    "the check failed": "проверка не пройдена",
}


def test_a_formatted_message_is_matched_to_its_template_and_translated():
    assert StoredTranslator(CATALOG)("answer() returned int 41; that is not the right value") == \
        "answer() вернула int 41; это неверное значение"


def test_each_line_is_translated_and_a_hint_inside_a_field_too():
    assert StoredTranslator(CATALOG)("softmax(x): shape is (4, 10), expected (10, 4)\n"
                                     "Hint: softmax keeps the shape of its input.") == \
        "softmax(x): форма (4, 10), ожидалась (10, 4)\nПодсказка: softmax сохраняет форму своего входа."


def test_a_text_without_fields_is_looked_up_whole():
    assert StoredTranslator(CATALOG)("the check failed") == "проверка не пройдена"


def test_a_message_no_template_matches_stays_as_it_was():
    assert StoredTranslator(CATALOG)("your code printed 3 lines") == "your code printed 3 lines"
    assert StoredTranslator({})("the check failed") == "the check failed"
