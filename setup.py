"""Build script: ``jailcore._native`` (cffi, out-of-line API mode), the kernel
model's shared library ``jailcore/libjailmodel.so`` that it links to, and
``jailcore/jailcore-jexec``, the program the spawn helper runs to look a user up
as jexec(8) does."""

from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc"))
from build import JEXEC_PROGRAM, JEXEC_SOURCE, extra_compile_args, extra_link_args, model_sources

sys.path.pop(0)

MODEL_LIBRARY = "libjailmodel.so"


class BuildExtWithModel(build_ext):
    """Build libjailmodel.so next to the extension, then the extension against it."""

    def finalize_options(self) -> None:
        super().finalize_options()
        # A sanitizer build keeps its objects apart: distutils does not notice a
        # change of flags, and would link the other build's objects.
        sanitize = os.environ.get("JAILCORE_SANITIZE", "")
        if sanitize:
            self.build_temp = f"{self.build_temp}-sanitize-{sanitize.replace(',', '-')}"
        # And when the flags changed since the last build here, link again: the
        # shared objects on disk may be the other kind, and newer than these objects.
        self._stamp = os.path.join(os.path.dirname(self.build_temp), ".jailcore-sanitize")
        try:
            with open(self._stamp, encoding="utf-8") as f:
                previous = f.read()
        except OSError:
            previous = None
        if previous != sanitize:
            self.force = True
        self._sanitize = sanitize

    def run(self) -> None:
        self._build_model()
        self._build_jexec()
        super().run()
        os.makedirs(os.path.dirname(self._stamp), exist_ok=True)
        with open(self._stamp, "w", encoding="utf-8") as f:
            f.write(self._sanitize)

    def _cc(self) -> tuple[object, str]:
        """The C compiler and the directory the package's binaries go to."""
        out_dir = os.path.dirname(self.get_ext_fullpath("jailcore._native"))
        os.makedirs(out_dir, exist_ok=True)
        if self.compiler is None or isinstance(self.compiler, str):
            from distutils.ccompiler import new_compiler
            from distutils.sysconfig import customize_compiler

            cc = new_compiler(compiler=self.compiler, force=self.force)
            customize_compiler(cc)
        else:
            cc = self.compiler
        return cc, out_dir

    def _build_jexec(self) -> None:
        cc, out_dir = self._cc()
        objects = cc.compile(  # type: ignore[attr-defined]
            [JEXEC_SOURCE],
            output_dir=self.build_temp,
            macros=[("_GNU_SOURCE", "1")],
            include_dirs=["csrc"],
            extra_postargs=extra_compile_args,
        )
        cc.link_executable(  # type: ignore[attr-defined]
            objects,
            JEXEC_PROGRAM,
            output_dir=out_dir,
            libraries=["util"] if sys.platform.startswith("freebsd") else [],
            extra_postargs=extra_link_args,
        )

    def _build_model(self) -> None:
        cc, out_dir = self._cc()
        target = os.path.join(out_dir, MODEL_LIBRARY)
        objects = cc.compile(
            model_sources(),
            output_dir=self.build_temp,
            macros=[("_GNU_SOURCE", "1")],
            include_dirs=["csrc/model"],
            extra_postargs=extra_compile_args,
        )
        cc.link_shared_object(
            objects,
            target,
            libraries=["pthread"],
            extra_postargs=[*extra_link_args, f"-Wl,-soname,{MODEL_LIBRARY}"],
        )
        for ext in self.extensions:
            if out_dir not in ext.library_dirs:
                ext.library_dirs.append(out_dir)


setup(
    cffi_modules=["csrc/build.py:ffibuilder"],
    cmdclass={"build_ext": BuildExtWithModel},
)
