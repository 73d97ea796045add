"""Install mmddl: ``pip install -e .`` (``.[tests]`` for the test tools)."""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.develop import develop

ROOT = osp.dirname(osp.abspath(__file__))
#: Shipped in ``mmddl/.mim/`` for ``mim`` and ``mmddl::`` config paths.
MIM_FILES = ('configs', 'tools')
#: Run by Python's ``site`` at interpreter start: ``mmddl::`` config paths
#: before ``import mmddl`` (the stock tools), see ``_mmddl_config_scope.py``.
PTH_NAME = 'mmddl-config-scope.pth'
PTH_LINE = 'import _mmddl_config_scope; _mmddl_config_scope.install()\n'


def read_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` (no comments)."""
    path = osp.join(ROOT, 'requirements', f'{name}.txt')
    with open(path) as f:
        return [ln.split('#')[0].strip() for ln in f
                if ln.split('#')[0].strip()]


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(ROOT, 'mmddl', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def add_mim_extension(package_dir: str, mode: str) -> None:
    """Put ``configs`` and ``tools`` into ``<package_dir>/.mim``.

    ``symlink`` for editable installs (the source tree stays the truth),
    ``copy`` for wheels (into the build directory, not the source tree).
    """
    mim_path = osp.join(package_dir, '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(ROOT, name), osp.join(mim_path, name)
        if not osp.exists(src):
            raise FileNotFoundError(f'{src} is missing: cannot ship it in '
                                    'mmddl/.mim (incomplete checkout?)')
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), dst)
        else:
            shutil.copytree(
                src, dst, ignore=shutil.ignore_patterns('__pycache__',
                                                        '*.pyc'))


def write_pth(folder: str) -> None:
    """Write ``PTH_NAME`` into ``folder`` (the wheel's root: site-packages)."""
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, PTH_NAME), 'w') as f:
        f.write(PTH_LINE)


class BuildPyWithMim(build_py):
    """``build_py`` that also ships ``configs``, ``tools`` and the ``.pth``."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            add_mim_extension(osp.join(ROOT, 'mmddl'), 'symlink')
            # PEP 660: setuptools' editable_wheel sets install_lib to the
            # unpacked wheel, whose files all go into the editable wheel.
            write_pth(self.get_finalized_command('install').install_lib)
        else:
            add_mim_extension(osp.join(self.build_lib, 'mmddl'), 'copy')
            write_pth(self.build_lib)


class DevelopWithMim(develop):
    """Legacy ``setup.py develop``: symlinks, like an editable install."""

    def run(self):
        add_mim_extension(osp.join(ROOT, 'mmddl'), 'symlink')
        super().run()
        write_pth(self.install_dir)


setup(
    name='mmddl',
    version=read_version(),
    description='Discriminability Distillation (DDL) for OpenMMLab: '
    'group recognition for video clips, face templates and re-ID tracklets',
    long_description=open(osp.join(ROOT, 'README.md')).read()
    if osp.exists(osp.join(ROOT, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    py_modules=['_mmddl_config_scope'],
    python_requires='>=3.8',
    install_requires=read_requirements('runtime'),
    extras_require=dict(
        tests=read_requirements('tests'),
        # mmcv or mmcv-lite: either satisfies mmddl (checked at import)
        lite=read_requirements('lite'),
        mim=read_requirements('mminstall'),
        # mmdet needs mmcv's compiled ops (tools/misc/build_mmcv.sh builds
        # full mmcv 2.1.0 where no prebuilt wheel fits the torch)
        mmdet=read_requirements('mmdet'),
    ),
    cmdclass=dict(build_py=BuildPyWithMim, develop=DevelopWithMim),
    license='Apache License 2.0',
    zip_safe=False,
)
