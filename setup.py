"""Install mmddl: ``pip install -e .`` (``.[tests]`` for the test tools)."""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` (no comments)."""
    path = osp.join(osp.dirname(__file__), 'requirements', f'{name}.txt')
    with open(path) as f:
        return [ln.split('#')[0].strip() for ln in f
                if ln.split('#')[0].strip()]


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'mmddl', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmddl',
    version=read_version(),
    description='Discriminability Distillation (DDL) for OpenMMLab: '
    'group recognition for video clips, face templates and re-ID tracklets',
    long_description=open('README.md').read() if osp.exists('README.md')
    else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.8',
    install_requires=read_requirements('runtime'),
    extras_require=dict(
        tests=read_requirements('tests'),
        # mmdet needs mmcv's compiled ops (a source build of full mmcv 2.1.0)
        mmdet=['mmdet==3.3.0'],
    ),
    license='Apache License 2.0',
    zip_safe=False,
)
