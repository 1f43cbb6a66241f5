"""Everything about the package is in pyproject.toml; this file only fixes one setuptools bug.

setuptools' editable wheels leave out ``data_files``: its ``editable_wheel`` asks the
distribution for ``has_data``, which does not exist (pypa/setuptools#3399), so
``pip install -e .`` would not install ``etc/jupyter/jupyter_server_config.d/workbench.json``
and the Jupyter server extension (``workbench.server``) would stay disabled. This command
installs the data files into the editable wheel, as a regular wheel does.
"""

from setuptools import setup
from setuptools.command.editable_wheel import editable_wheel


class EditableWheel(editable_wheel):
    """``editable_wheel`` that installs ``data_files`` too."""

    def _run_install(self, category: str):
        if category == "data":
            if self.distribution.has_data_files():
                self.run_command("install_data")
            return
        super()._run_install(category)


setup(cmdclass={"editable_wheel": EditableWheel})
