"""Build hook: copy the top-level shipped folders into the wheel as ``archsim/_shipped/<name>`` so that an
installed archsim finds its architectures, workloads and experiments (``archsim.shipped.shipped_dir``)."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"arch_configs": ("*.yaml",), "workloads": ("*.yaml", "*.yml", "*.json", "*.csv"),
           "experiments": ("*.py", "*.yaml")}


class BuildPyWithShippedData(build_py):
    def run(self):
        super().run()
        for name, patterns in SHIPPED.items():
            for pattern in patterns:
                for src in (ROOT / name).rglob(pattern):
                    dst = Path(self.build_lib) / "archsim" / "_shipped" / src.relative_to(ROOT)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dst)


setup(cmdclass={"build_py": BuildPyWithShippedData})
