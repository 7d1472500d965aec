# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the collection's modules start and end: their AnsibleModule (check mode supported, path options
checked before anything is read or written), and the end of a module whose work is one call that
returns its result or raises an error the task fails with."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import check_path_options


def fleet_module(argument_spec, **kwargs):
    """The module's AnsibleModule for ``argument_spec``, with check mode supported; a value of a path
    option that cannot be a path fails the task at once (check_path_options). ``kwargs`` are
    AnsibleModule's other arguments (mutually_exclusive, required_if ...)."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **kwargs)
    check_path_options(module)
    return module


def exit_with(module, run, errors, **extra):
    """End the module with the dict ``run()`` returns, and ``extra``.

    ``errors`` lists (exception class or tuple of classes, prefix) pairs: when ``run`` raises one of
    them, the first pair it matches fails the task with the prefix and the exception's message."""
    caught = []
    for kinds, dummy in errors:
        caught.extend(kinds if isinstance(kinds, tuple) else [kinds])
    try:
        result = run()
    except tuple(caught) as e:
        prefix = [p for kinds, p in errors if isinstance(e, kinds)][0]
        module.fail_json(msg=prefix + to_native(e))
    module.exit_json(**dict(extra, **result))
