"""`grader release`: the student bundle holds nothing secret, and `grader check` works inside it."""

import ast
import json
import os
import shutil
import zipfile

import pytest

from conftest import REPO, run_grader

from grader.api import check_notebook
from grader.spec import load_assignment

HOMEWORKS = ["hw1", "hw2", "hw3", "hw4", "hw5"]


def secrets(homework):
    """Hidden check names and lines, and the reference's function bodies (as lists of lines), that
    students never see: lines the instructor shows anyway (public checks, README, template) excepted."""
    spec = load_assignment(homework, REPO / "assignments")
    public = "\n".join(path.read_text() for path in spec.check_files(include_hidden=False))
    public += (spec.root / "README.md").read_text()
    template = json.loads(spec.template.read_text())
    public += "\n".join("".join(cell["source"]) for cell in template["cells"])

    def body_lines(text, node):
        lines = [line.strip() for line in (ast.get_source_segment(text, node) or "").splitlines()[1:]]
        return [line for line in lines
                if len(line) >= 25 and line not in public and not line.startswith(("#", "import", "from"))]

    names, hidden_lines, bodies = set(), set(), []
    for path in [p for p in spec.check_files(include_hidden=True) if spec.hidden_checks in p.parents]:
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                if node.name not in public:
                    names.add(node.name)
                hidden_lines.update(body_lines(text, node))
    text = spec.reference_solution().read_text()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and body_lines(text, node):
            bodies.append(body_lines(text, node))
    assert names and hidden_lines and bodies
    return names, hidden_lines, bodies


RELEASE_OUTPUT = {}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles")
    for homework in HOMEWORKS:
        result = run_grader("release", homework, str(out / homework))
        assert result.returncode == 0, result.stderr
        assert f"{homework} released to" in result.stdout
        RELEASE_OUTPUT[homework] = result.stdout
    return out


def texts_of(path):
    """A bundle file's text; a wheel's, member by member."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return [wheel.read(name).decode() for name in wheel.namelist()]
    return [path.read_text()]


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_bundle_holds_the_student_files_and_no_secret(bundles, homework):
    bundle = bundles / homework
    files = {str(path.relative_to(bundle)) for path in bundle.rglob("*") if path.is_file()}
    assert {f"{homework}.ipynb", "README.md", f"assignments/{homework}/assignment.toml",
            f"assignments/{homework}/checks/public/reference_answers.json"} <= files
    assert not any("hidden" in name or "mistakes" in name or "mutants" in name or "reference_solutions" in name
                   for name in files)
    names, hidden_lines, bodies = secrets(homework)
    for path in bundle.rglob("*"):
        if path.is_file() and path.suffix != ".gz":
            for text in texts_of(path):
                assert not [name for name in names if name in text], path
                assert not [line for line in hidden_lines if line in text], path
                for body in bodies:
                    assert not [line for line in body if line in text], (path, body)


def test_bundle_carries_the_grader_wheel_and_nothing_else_of_the_course(bundles):
    wheels = list((bundles / "hw2").glob("grader-*.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
    assert "grader/cli.py" in names and "grader/locale/ru.toml" in names
    assert all(name.startswith(("grader/", "grader-")) for name in names), names


def test_bundle_readme_gives_the_install_lines_for_every_platform_in_both_languages(bundles):
    readme = (bundles / "hw2" / "README.md").read_text()
    wheel = next((bundles / "hw2").glob("grader-*.whl")).name
    assert f"pip install torch ./{wheel}" in readme  # Linux / macOS
    assert f"pip install torch .\\{wheel}" in readme  # Windows
    assert f"!pip3 install /content/drive/MyDrive/hw2/{wheel}" in readme  # Colab
    assert "not `pip install grader`" in readme and "Python 3.11" in readme
    assert "Как установить проверку" in readme


def test_bundle_notebook_says_how_to_install_in_its_first_cell(bundles):
    first = json.loads((bundles / "hw2" / "hw2.ipynb").read_text())["cells"][0]
    text = "".join(first["source"])
    assert first["cell_type"] == "markdown"
    assert "pip install torch ./grader-" in text and "never `pip install grader`" in text


def test_release_tells_students_commands_relative_to_the_bundle(bundles):
    output = RELEASE_OUTPUT["hw2"]
    student_lines = output[output.index("in it they run"):]
    assert "  cd hw2\n" in student_lines and "  grader check hw2 hw2.ipynb" in student_lines
    assert str(bundles) not in student_lines


def test_release_prints_the_lines_its_readme_gives_from_a_fresh_machine(bundles):
    """The venv line too: without it `pip install` goes into whatever Python the student has open."""
    printed = RELEASE_OUTPUT["hw2"].split("in it they run")[1].splitlines()[1:]
    readme = (bundles / "hw2" / "README.md").read_text()
    linux = readme.split("Linux / macOS:\n\n```\n")[1].split("```")[0].splitlines()
    assert [line.strip() for line in printed[1:]] == linux and printed[0].strip() == "cd hw2"


def test_check_inside_the_bundle_scores_like_the_course_repository(bundles, tmp_path):
    bundle = bundles / "hw2"
    shutil.copyfile(REPO / "submissions" / "hw2" / "partial.ipynb", bundle / "hw2.ipynb")
    inside = run_grader("check", "hw2", cwd=bundle)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO / "submissions" / "hw2" / "partial.ipynb", home / "hw2.ipynb")
    outside = run_grader("check", "hw2", "--assignments", str(REPO / "assignments"), cwd=home)
    assert inside.returncode == outside.returncode == 1, inside.stderr
    hidden = load_assignment("hw2", REPO / "assignments").hidden_check_count()
    line = f"Public score: 5/6. {hidden} hidden checks run at grading time."
    assert line in inside.stdout and line in outside.stdout
    assert "rows do not sum to 1" in inside.stdout

    # a check edited after the release asks for an answer that was never recorded (and the checks
    # of the course's tree, judged first in this same process, are not the ones that run)
    course = check_notebook("hw2", home / "hw2.ipynb", assignments_dir=REPO / "assignments")
    assert course.score == 5
    checks = bundle / "assignments" / "hw2" / "checks" / "public" / "test_hw2_public.py"
    assert "manual_seed(0)" in checks.read_text()
    checks.write_text(checks.read_text().replace("manual_seed(0)", "manual_seed(12345)"))
    edited = check_notebook("hw2", bundle / "hw2.ipynb", assignments_dir=bundle / "assignments")
    sigmoid = next(check for check in edited.checks if check.name == "test_sigmoid_values")
    assert not sigmoid.passed and "no recorded answer for reference.sigmoid(...)" in sigmoid.message


def test_release_refuses_a_folder_that_is_not_empty(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run_grader("release", "hw1", str(out))
    assert result.returncode == 2 and "not an empty folder" in result.stderr
    assert [path.name for path in out.iterdir()] == ["keep.txt"]


def test_release_refuses_a_bundle_that_would_carry_the_planted_mistakes(tmp_path):
    """A catalogue left among the public checks would be copied with them: the audit stops it."""
    assignments = tmp_path / "assignments"
    shutil.copytree(REPO / "assignments" / "hw1", assignments / "hw1")
    (tmp_path / "reference_solutions").mkdir()
    shutil.copyfile(REPO / "reference_solutions" / "hw1.py", tmp_path / "reference_solutions" / "hw1.py")
    shutil.copyfile(assignments / "hw1" / "mistakes.toml", assignments / "hw1" / "checks" / "public" / "mistakes.toml")
    out = tmp_path / "bundle"
    result = run_grader("release", "hw1", str(out), "--assignments", str(assignments))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == ("error: the bundle's assignments/hw1/checks/public/mistakes.toml holds the "
                                     "planted mistakes, each one edit away from the reference solution; keep it "
                                     "out of the public checks' folder")
    assert not out.exists()


def test_the_bundles_wheel_installs_beside_an_installed_torch_and_checks(bundles, tmp_path):
    """A student's fresh environment: this wheel, and a torch already installed (here: this one's packages,
    seen through a .pth file, as a system torch or Colab's would be)."""
    import site
    import subprocess
    import sys
    import venv

    fresh = tmp_path / "student-env"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    packages = next(fresh.glob("lib/python*/site-packages"))
    (packages / "installed-torch.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    wheel = next((bundles / "hw2").glob("grader-*.whl"))
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                                "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    where = subprocess.run([str(python), "-c", "import grader; print(grader.__file__)"], capture_output=True,
                           text=True, cwd=tmp_path)
    assert where.stdout.startswith(str(packages)), where
    student = tmp_path / "hw2"
    shutil.copytree(bundles / "hw2", student)
    shutil.copyfile(REPO / "submissions" / "hw2" / "partial.ipynb", student / "hw2.ipynb")
    for forced in ("0", "1"):
        result = subprocess.run([str(fresh / "bin" / "grader"), "check", "hw2"], capture_output=True, text=True,
                                cwd=student, timeout=600, env={**os.environ, "GRADER_PORTABLE": forced})
        assert "Public score: " in result.stdout and "/6." in result.stdout, (forced, result.stdout, result.stderr)
        assert ("sandbox is switched off" in result.stderr) == (forced == "1")
