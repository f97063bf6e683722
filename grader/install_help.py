"""How a student gets the grader: the lines a release bundle's README and notebook give.

The name ``grader`` on PyPI belongs to an unrelated package, so ``pip install grader`` installs the
wrong thing: the bundle carries a wheel of this grader and every line installs that file. Every
command is relative to the bundle's folder, never a path on the instructor's machine.
"""

from __future__ import annotations

import uuid

PYTHON = "3.11"  # requires-python in pyproject.toml
WHEEL_PLACEHOLDER = "grader-*.whl"


def install_commands(assignment: str, notebook: str, wheel: str | None) -> dict[str, list[str]]:
    """Per platform, the lines from a fresh machine to a check result, run in the bundle's folder."""
    wheel = wheel or WHEEL_PLACEHOLDER
    check = f"grader check {assignment} {notebook}"
    return {
        "Linux / macOS": [f"python3 -m venv .venv && . .venv/bin/activate",
                          f"pip install torch ./{wheel}", check],
        "Windows (PowerShell)": ["py -3 -m venv .venv; .venv\\Scripts\\Activate.ps1",
                                 f"pip install torch .\\{wheel}", check],
        "Google Colab": ["from google.colab import drive; drive.mount('/content/drive')",
                         f"!pip3 install /content/drive/MyDrive/{assignment}/{wheel}",
                         f"import grader; grader.check('{assignment}', "
                         f"'/content/drive/MyDrive/{assignment}/{notebook}')"],
    }


def install_section(assignment: str, notebook: str, wheel: str | None) -> str:
    """The bundle README's section (English, then Russian)."""
    commands = install_commands(assignment, notebook, wheel)
    blocks = "\n".join(f"{platform}:\n\n```\n" + "\n".join(lines) + "\n```\n" for platform, lines in commands.items())
    wheel_name = wheel or WHEEL_PLACEHOLDER
    return (
        "## Installing the grader and checking your work\n\n"
        f"You need Python {PYTHON} or newer and PyTorch (any version from 2.2; an installed one is kept). "
        f"The grader comes with this folder as `{wheel_name}`: install that file, not `pip install grader` "
        "(the package of that name on PyPI is a different program). Run these lines in this folder "
        "(in Colab: upload this folder to your Drive as `MyDrive/" + assignment + "` first):\n\n"
        + blocks +
        "\nOn Windows and macOS the checks run without the Linux sandbox (your own code, on your own "
        "machine); `grader check` says so once.\n\n"
        "## Как установить проверку и проверить свою работу\n\n"
        f"Нужны Python {PYTHON} или новее и PyTorch (любая версия начиная с 2.2; установленная не "
        f"заменяется). Программа проверки лежит в этой папке: `{wheel_name}`. Устанавливайте этот файл, а не "
        "`pip install grader` (пакет с таким именем на PyPI — другая программа). Выполните эти строки в этой "
        "папке (в Colab сначала загрузите папку на свой Google Диск как `MyDrive/" + assignment + "`):\n\n"
        + blocks +
        "\nВ Windows и macOS проверки идут без песочницы Linux (ваш собственный код на вашем компьютере); "
        "`grader check` сообщает об этом один раз.\n")


def install_cell(assignment: str, notebook: str, wheel: str | None) -> dict:
    """The released notebook's first cell: a markdown cell with the same lines."""
    commands = install_commands(assignment, notebook, wheel)
    lines = [f"**How to check your work** (Python {PYTHON}+, PyTorch 2.2+; in this notebook's folder, "
             f"install the grader from the file that came with it, never `pip install grader`):\n", "\n"]
    for platform, platform_lines in commands.items():
        lines += [f"- {platform}: `" + " ; ".join(platform_lines) + "`\n"]
    lines += ["\n", "**Как проверить работу** (Python 3.11+, PyTorch 2.2+): установите программу проверки из "
              "файла, который пришёл с этим ноутбуком (не `pip install grader`), строками выше; из ноутбука: "
              f"`import grader; grader.check('{assignment}')`."]
    return {"cell_type": "markdown", "id": uuid.uuid4().hex[:8], "metadata": {}, "source": lines}


def student_command_lines(folder_name: str, assignment: str, notebook: str, wheel: str | None) -> list[str]:
    """What `grader release` prints for the instructor to pass on: relative to the bundle's folder."""
    return [f"cd {folder_name}", *install_commands(assignment, notebook, wheel)["Linux / macOS"]]  # as its README
