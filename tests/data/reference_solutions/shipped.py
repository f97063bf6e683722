def scaled(x):
    return x * 3


def first_number():
    return 7
