"""fleet_module.fleet_module and exit_with: the AnsibleModule every module starts with, and the end of a
module whose work is one call."""
import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import exit_with, fleet_module
from ansible_collections.poscloud.fleet.tests.unit.harness import run_module


class ShelfError(Exception):
    pass


SPEC = dict(folder=dict(type='path'), names=dict(type='list', elements='path', default=[]), label=dict(type='str'))


def end(run, errors, **extra):
    """Run a module with SPEC that ends with exit_with(run, errors, **extra); its ModuleExit."""
    def main():
        module = fleet_module(SPEC)
        exit_with(module, lambda: run(module), errors, **extra)
    return run_module(main, dict(folder='/srv/shelf'), check_mode=True)


def test_the_module_supports_check_mode_and_takes_the_other_arguments():
    seen = {}

    def main():
        module = fleet_module(SPEC, required_if=[('label', 'x', ['folder'])])
        seen.update(check_mode=module.check_mode, params=module.params)
        module.exit_json(changed=False)
    assert run_module(main, dict(label='y'), check_mode=True).kind == 'exit'
    assert seen == {'check_mode': True, 'params': dict(folder=None, names=[], label='y')}
    failed = run_module(main, dict(label='x'))
    assert failed.kind == 'fail' and 'folder' in failed.result['msg']


@pytest.mark.parametrize('params, named', [
    (dict(folder='/srv/\x00shelf'), 'folder'),
    (dict(names=['/srv/a', '/srv/' + 'b' * 300]), 'names'),
])
def test_a_path_option_that_cannot_be_a_path_fails_at_once(params, named):
    def main():
        fleet_module(SPEC)
        raise AssertionError('the module went on with a path that cannot be one')
    e = run_module(main, params)
    assert e.kind == 'fail' and e.result['msg'].startswith(named + ': ')


def test_the_result_ends_the_module_with_the_extra_values():
    e = end(lambda module: dict(folder=module.params['folder'], count=2), [(ShelfError, '')], changed=False)
    assert e.kind == 'exit' and e.result == dict(changed=False, folder='/srv/shelf', count=2)


def test_a_result_value_wins_over_an_extra_one():
    assert end(lambda module: dict(changed=True), [(ShelfError, '')], changed=False).result == dict(changed=True)


def test_an_error_fails_with_the_prefix_of_the_first_pair_it_matches():
    def run(module):
        raise ShelfError('the shelf is full')
    e = end(run, [(ShelfError, 'shelf %s: ' % 'A'), (Exception, 'never: ')])
    assert e.kind == 'fail' and e.result['msg'] == 'shelf A: the shelf is full'


def test_a_pair_may_name_several_exception_classes():
    def run(module):
        raise OSError(13, 'Permission denied')
    e = end(run, [(ShelfError, ''), ((IOError, OSError), 'cannot read the shelf: ')])
    assert e.result['msg'] == 'cannot read the shelf: [Errno 13] Permission denied'


def test_an_error_not_listed_is_not_caught():
    def run(module):
        raise KeyError('label')
    with pytest.raises(KeyError):
        end(run, [(ShelfError, '')])
