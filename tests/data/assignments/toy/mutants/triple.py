# mutant: double multiplies by 3
def double(x):
    return x * 3


def answer():
    return 42
