"""phongdich — an epidemic-response platform for cities and provinces."""

__version__ = "0.1.0"
