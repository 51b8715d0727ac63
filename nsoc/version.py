"""The nsoc version (one place: setup.cfg reads the same number, ``nsoc.__version__``)."""
__version__ = "0.1.0"
