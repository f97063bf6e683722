# mutant: double turns integers into floats
def double(x):
    return x * 2.0


def answer():
    return 42
