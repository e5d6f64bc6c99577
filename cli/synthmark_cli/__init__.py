"""The ``synthmark`` command-line app: a thin layer over :mod:`synthmark`."""
