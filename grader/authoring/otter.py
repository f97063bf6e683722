"""placeholder"""


def is_otter(cells):
    return False


def read(cells, assignment, where):
    raise NotImplementedError
