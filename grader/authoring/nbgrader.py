"""placeholder"""


def is_nbgrader(cells):
    return False


def read(cells, assignment, where):
    raise NotImplementedError
