"""The harness of the module tests: exit_json and fail_json raise instead of ending the process."""
import pytest

from ansible.module_utils import basic


class ModuleExit(Exception):
    """How a module ended: kind is 'exit' or 'fail', result the keyword arguments it gave."""

    def __init__(self, kind, result):
        super(ModuleExit, self).__init__(kind)
        self.kind = kind
        self.result = result


@pytest.fixture
def module_exit(monkeypatch):
    """Make exit_json and fail_json of every module raise ModuleExit; returns the class."""
    def exit_json(self, **kw):
        raise ModuleExit('exit', kw)

    def fail_json(self, **kw):
        raise ModuleExit('fail', kw)
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    return ModuleExit
