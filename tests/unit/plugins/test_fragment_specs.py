"""The option fragments and the argument specs the modules take from module_utils say the same: each
option of a fragment is in its spec with the same type, choices and default, and no other."""
import importlib

import pytest
import yaml

from ansible_collections.poscloud.fleet.plugins.module_utils import docker_cli, images, release
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl import runner


@pytest.mark.parametrize('fragment, spec', [
    ('docker_engine', docker_cli.docker_argument_spec),
    ('image_filters', images.filter_argument_spec),
    ('release_store', release.store_argument_spec),
    ('swanctl', runner.swanctl_argument_spec),
])
def test_the_fragment_documents_the_spec(fragment, spec):
    module = importlib.import_module('ansible_collections.poscloud.fleet.plugins.doc_fragments.' + fragment)
    documented = yaml.safe_load(module.ModuleDocFragment.DOCUMENTATION)['options']
    options = spec()
    assert sorted(options) == sorted(documented)
    for name, option in options.items():
        assert option['type'] == documented[name]['type'], name
        assert option.get('choices') == documented[name].get('choices'), name
        assert option.get('default') == documented[name].get('default'), name
