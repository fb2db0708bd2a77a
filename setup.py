"""Build script: one cffi extension, ``jailcore._native``, from ``csrc/``."""

from setuptools import setup

setup(cffi_modules=["csrc/build.py:ffibuilder"])
