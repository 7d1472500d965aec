"""The unit tests' module harness: run a module's main() to its end without ending the process.

exit_json and fail_json raise ModuleExit, which carries how the module ended ('exit' or 'fail') and
the keyword arguments it gave (a failure also gets ``failed: True``, as Ansible adds). Test files
import from here (``ansible_collections.poscloud.fleet.tests.unit.harness``); tests/unit/conftest.py
offers the same as the fixtures ``module_exit`` and ``run_module``.
"""
import contextlib

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    """How a module ended: kind is 'exit' or 'fail', result the keyword arguments it gave."""

    def __init__(self, kind, result):
        super(ModuleExit, self).__init__(kind)
        self.kind = kind
        self.result = result


def _exit_json(self, **kw):
    raise ModuleExit('exit', kw)


def _fail_json(self, **kw):
    kw['failed'] = True
    raise ModuleExit('fail', kw)


def patch_exits(monkeypatch):
    """Make exit_json and fail_json of every module raise ModuleExit (undone with ``monkeypatch``).

    The warnings and deprecations a module records are kept for the run of one module process; the
    harness gives each test fresh ones, so that none reaches the result of a later test."""
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', _fail_json)
    monkeypatch.setattr(warnings, '_global_warnings', {})
    monkeypatch.setattr(warnings, '_global_deprecations', {})
    return ModuleExit


@contextlib.contextmanager
def exits_raise():
    """exit_json and fail_json raise ModuleExit inside the block."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield patch_exits(monkeypatch)


def run_module(main, params, check_mode=False, diff=False):
    """Run ``main`` (a module's main function) with ``params``; returns the ModuleExit it ended with.
    ``check_mode`` and ``diff`` set Ansible's check and diff modes."""
    params = dict(params)
    if check_mode:
        params['_ansible_check_mode'] = True
    if diff:
        params['_ansible_diff'] = True
    with exits_raise():
        with patch_module_args(params):
            with pytest.raises(ModuleExit) as e:
                main()
    return e.value
