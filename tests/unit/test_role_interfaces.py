"""Role interfaces: roles talk through declared entry points and shared defaults in one place.

Checked over the tree (docs/architecture.md):

- every include_role/import_role in roles/*/tasks, playbooks and the Molecule scenarios, and every
  role a play lists under roles:, targets an entry point declared in the target role's
  meta/argument_specs.yml (main when there is no tasks_from), whose task file exists, and passes
  the options that entry point marks required (or finds them among the defaults it sees);
- no role or playbook includes a role with ``public: true`` to reach its defaults, and no task file
  is an empty stand-in that exists only to be included for its role's defaults;
- the variables of roles/pos/defaults/main.yml are defined there only, and every role that reads one
  lists poscloud.fleet.pos among its dependencies;
- every default that is not a template has the type its entry points declare.

Each check runs over a broken copy of the tree too, to show that it reports what it is for.
"""

import functools
import re
import shutil
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = 'poscloud.fleet.'
SHARED_ROLE = 'pos'
ROLE_ACTIONS = {
    'include_role': 'include_role', 'ansible.builtin.include_role': 'include_role', 'ansible.legacy.include_role': 'include_role',
    'import_role': 'import_role', 'ansible.builtin.import_role': 'import_role', 'ansible.legacy.import_role': 'import_role',
}


class _Loader(yaml.SafeLoader):
    """Reads Ansible YAML: tags such as !unsafe and !vault become their plain value."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_Loader.add_multi_constructor('!', _any_tag)


def load(path):
    path = Path(path)
    return _load(str(path), path.stat().st_mtime_ns, path.stat().st_size)


@functools.lru_cache(maxsize=None)
def _load(path, _mtime, _size):
    with open(path, encoding='utf-8') as f:
        return yaml.load(f, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def task_files(root):
    root = Path(root)
    return sorted(root.glob('roles/*/tasks/*.yml')) + sorted(root.glob('playbooks/*.yml')) + sorted(root.glob('molecule/*/*.yml'))


def role_calls(root):
    """Every include_role/import_role: (file, caller role or None, keyword, its arguments, its vars)."""
    root = Path(root)
    calls = []
    for path in task_files(root):
        rel = path.relative_to(root)
        caller = rel.parts[1] if rel.parts[0] == 'roles' else None
        if rel.parts[0] == 'molecule' and rel.name == 'molecule.yml':
            continue
        data = load(path)
        for task in _walk(data):
            for key, keyword in ROLE_ACTIONS.items():
                if key in task and isinstance(task[key], dict):
                    calls.append((str(rel), caller, keyword, task[key], task.get('vars') or {}))
        if caller is None and isinstance(data, list):
            for play in data:
                for entry in (play.get('roles') or []) if isinstance(play, dict) else []:
                    entry = {'name': entry} if isinstance(entry, str) else entry
                    params = {k: v for k, v in entry.items() if k not in ('role', 'name', 'vars', 'when', 'tags')}
                    args = {'name': entry.get('role') or entry.get('name') or ''}
                    calls.append((str(rel), None, 'roles', args, {**params, **(entry.get('vars') or {})}))
    return calls


def _role_name(name):
    return name[len(COLLECTION):] if name.startswith(COLLECTION) else name


def _entry_name(tasks_from):
    return re.sub(r'\.ya?ml$', '', str(tasks_from))


def argument_specs(root, role):
    path = Path(root) / 'roles' / role / 'meta' / 'argument_specs.yml'
    if not path.is_file():
        return {}
    return (load(path) or {}).get('argument_specs') or {}


def role_defaults(root, role):
    path = Path(root) / 'roles' / role / 'defaults' / 'main.yml'
    return (load(path) or {}) if path.is_file() else {}


def role_dependencies(root, role):
    path = Path(root) / 'roles' / role / 'meta' / 'main.yml'
    deps = ((load(path) or {}).get('dependencies') or []) if path.is_file() else []
    return [_role_name(d if isinstance(d, str) else d.get('role') or d.get('name') or '') for d in deps]


def visible_defaults(root, role):
    """The defaults a role's tasks see: its own and its dependencies' (recursively)."""
    seen, names, todo = set(), set(), [role]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        names.update(role_defaults(root, current))
        todo.extend(role_dependencies(root, current))
    return names


def check_entry_points(root):
    """Problems with role calls: undeclared entry points, missing task files, required options not given."""
    root = Path(root)
    problems = []
    for rel, caller, keyword, args, call_vars in role_calls(root):
        name = str(args.get('name') or args.get('role') or '')
        if '{{' in name:
            problems.append(f'{rel}: {keyword} of a templated role name ({name}): the entry point cannot be checked')
            continue
        role = _role_name(name)
        if not (root / 'roles' / role).is_dir():
            problems.append(f'{rel}: {keyword} of {name}, which is not a role of this collection')
            continue
        entry = _entry_name(args.get('tasks_from', 'main'))
        specs = argument_specs(root, role)
        if entry not in specs:
            problems.append(
                f'{rel}: {keyword} {name} tasks_from {entry}: the entry point is not declared in '
                f'roles/{role}/meta/argument_specs.yml (declared: {", ".join(sorted(specs)) or "none"})')
            continue
        if not (root / 'roles' / role / 'tasks' / f'{entry}.yml').is_file():
            problems.append(f'{rel}: {keyword} {name} tasks_from {entry}: roles/{role}/tasks/{entry}.yml does not exist')
        known = set(call_vars) | visible_defaults(root, role) | (visible_defaults(root, caller) if caller else set())
        for option, spec in ((specs[entry] or {}).get('options') or {}).items():
            if (spec or {}).get('required') and option not in known:
                problems.append(f'{rel}: {keyword} {name} tasks_from {entry}: the required option {option} is not given')
    return problems


def check_no_public_defaults(root):
    """Problems: a role included with public: true, or a task file that only exists to be included."""
    root = Path(root)
    problems = []
    for rel, _caller, keyword, args, _vars in role_calls(root):
        if str(args.get('public', False)).lower() in ('true', 'yes', '1'):
            problems.append(f'{rel}: {keyword} {args.get("name")} with public: true; shared defaults live in roles/{SHARED_ROLE}')
    for path in sorted(root.glob('roles/*/tasks/*.yml')):
        tasks = load(path) or []
        actions = [{k for k in t if k not in ('name', 'tags', 'when')} for t in tasks if isinstance(t, dict)]
        noop = all(a <= {'ansible.builtin.meta', 'meta'} for a in actions) and all(
            t.get('ansible.builtin.meta', t.get('meta')) == 'noop' for t in tasks if isinstance(t, dict))
        if tasks and noop:
            problems.append(f'{path.relative_to(root)}: a task file that does nothing (included only for its role\'s defaults?)')
    return problems


def check_shared_defaults(root):
    """Problems: a shared variable defined twice, or read by a role that does not depend on the pos role."""
    root = Path(root)
    problems = []
    shared = set(role_defaults(root, SHARED_ROLE))
    for role_dir in sorted(p for p in (root / 'roles').iterdir() if p.is_dir() and p.name != SHARED_ROLE):
        role = role_dir.name
        for name in sorted(shared & set(role_defaults(root, role))):
            problems.append(f'roles/{role}/defaults/main.yml: {name} is defined in roles/{SHARED_ROLE}/defaults/main.yml too')
        text = '\n'.join(
            p.read_text(encoding='utf-8') for p in sorted(role_dir.rglob('*'))
            if p.is_file() and p.suffix in ('.yml', '.j2') and p.relative_to(role_dir).parts[0] != 'meta')
        reads = sorted(n for n in shared if re.search(r'\b%s\b' % re.escape(n), text))
        if reads and SHARED_ROLE not in role_dependencies(root, role):
            problems.append(
                f'roles/{role} reads {", ".join(reads)} but does not list {COLLECTION}{SHARED_ROLE} '
                f'among its dependencies (meta/main.yml)')
    return problems


def check_default_types(root):
    """Problems: a default (not templated) that the entry points reading it would refuse."""
    root = Path(root)
    problems = []
    for role_dir in sorted(p for p in (root / 'roles').iterdir() if p.is_dir()):
        role = role_dir.name
        values = {}
        for dep in role_dependencies(root, role):
            values.update(role_defaults(root, dep))
        values.update(role_defaults(root, role))
        for entry, spec in argument_specs(root, role).items():
            options = (spec or {}).get('options') or {}
            params = {k: v for k, v in values.items() if k in options and '{{' not in str(v)}
            checked = {}
            for name, option in options.items():
                option = {k: v for k, v in (option or {}).items() if k not in ('description', 'version_added')}
                if 'options' in option:
                    option['options'] = {k: {a: b for a, b in v.items() if a != 'description'} for k, v in option['options'].items()}
                if option.get('required') and name not in params:
                    option['required'] = False  # the caller passes it
                checked[name] = option
            for message in ArgumentSpecValidator(checked).validate(params).error_messages:
                problems.append(f'roles/{role} entry point {entry}: {message}')
    return problems


# --- The tree as it is ---

def test_role_calls_are_found():
    calls = role_calls(ROOT)
    with_tasks_from = [c for c in calls if 'tasks_from' in c[3]]
    assert len(with_tasks_from) >= 30, with_tasks_from
    assert any(c[0] == 'roles/pos_cutover/tasks/presync.yml' and c[3].get('tasks_from') == 'sync' for c in calls)
    assert any(c[0] == 'playbooks/fleet_status.yml' and c[2] == 'roles' for c in calls)


def test_every_tasks_from_targets_a_declared_entry_point():
    assert check_entry_points(ROOT) == []


def test_no_public_defaults():
    assert check_no_public_defaults(ROOT) == []


def test_shared_defaults_live_in_one_place():
    assert check_shared_defaults(ROOT) == []
    assert 'pos_instance_container' in role_defaults(ROOT, SHARED_ROLE)
    assert not (ROOT / 'roles' / SHARED_ROLE / 'tasks').exists()


def test_defaults_have_the_declared_types():
    assert check_default_types(ROOT) == []


def test_shared_defaults_are_documented():
    options = set(argument_specs(ROOT, SHARED_ROLE)['main']['options'])
    assert options == set(role_defaults(ROOT, SHARED_ROLE))


# --- The checks fail on a broken tree ---

@pytest.fixture
def tree(tmp_path):
    for part in ('roles', 'playbooks', 'molecule'):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def _edit(path, old, new):
    text = path.read_text(encoding='utf-8')
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding='utf-8')


def test_an_undeclared_entry_point_is_reported(tree):
    _edit(tree / 'roles/pos_cutover/tasks/presync.yml', 'tasks_from: warm', 'tasks_from: stale')
    problems = check_entry_points(tree)
    assert any('presync.yml' in p and 'tasks_from stale' in p and 'not declared' in p for p in problems), problems


def test_an_entry_point_removed_from_the_specs_is_reported(tree):
    specs = tree / 'roles/pos_instance/meta/argument_specs.yml'
    data = yaml.safe_load(specs.read_text(encoding='utf-8'))
    del data['argument_specs']['hold']
    specs.write_text(yaml.safe_dump(data), encoding='utf-8')
    problems = check_entry_points(tree)
    assert sum('tasks_from hold' in p for p in problems) >= 5, problems


def test_a_missing_task_file_and_an_unknown_role_are_reported(tree):
    (tree / 'roles/pos_data/tasks/warm.yml').unlink()
    _edit(tree / 'playbooks/images.yml', 'poscloud.fleet.os_media', 'poscloud.fleet.os_medias')
    problems = check_entry_points(tree)
    assert any('warm.yml does not exist' in p for p in problems), problems
    assert any('images.yml' in p and 'not a role of this collection' in p for p in problems), problems


def test_a_required_option_not_given_is_reported(tree):
    _edit(tree / 'roles/pos_cutover/tasks/rollback.yml', 'pos_data_source_app: started', 'pos_data_source_apps: started')
    problems = check_entry_points(tree)
    assert any('rollback.yml' in p and 'required option pos_data_source_app ' in p + ' ' for p in problems), problems


def test_a_templated_role_name_is_reported(tree):
    _edit(tree / 'roles/pos_cutover/tasks/presync.yml', 'name: poscloud.fleet.pos_data', 'name: "poscloud.fleet.{{ item }}"')
    problems = check_entry_points(tree)
    assert any('templated role name' in p for p in problems), problems


def test_public_defaults_are_reported(tree):
    (tree / 'roles/pos_data/tasks/defaults.yml').write_text(
        "---\n- name: Use pos_data's defaults\n  ansible.builtin.meta: noop\n", encoding='utf-8')
    _edit(tree / 'roles/pos_stage/tasks/validate.yml', 'name: poscloud.fleet.pos_profile\n',
          'name: poscloud.fleet.pos_profile\n    public: true\n')
    problems = check_no_public_defaults(tree)
    assert any('validate.yml' in p and 'public: true' in p for p in problems), problems
    assert any('pos_data/tasks/defaults.yml' in p for p in problems), problems


def test_a_shared_default_defined_twice_is_reported(tree):
    with open(tree / 'roles/pos_instance/defaults/main.yml', 'a', encoding='utf-8') as f:
        f.write('pos_instance_container: "pos_{{ store_id }}"\n')
    problems = check_shared_defaults(tree)
    assert any('pos_instance/defaults/main.yml: pos_instance_container' in p for p in problems), problems


def test_a_reader_without_the_dependency_is_reported(tree):
    meta = tree / 'roles/fleet_status/meta/main.yml'
    data = yaml.safe_load(meta.read_text(encoding='utf-8'))
    data['dependencies'] = []
    meta.write_text(yaml.safe_dump(data), encoding='utf-8')
    problems = check_shared_defaults(tree)
    assert any(p.startswith('roles/fleet_status reads') and 'pos_instance_container' in p for p in problems), problems


def test_a_default_of_the_wrong_type_is_reported(tree):
    _edit(tree / 'roles/pos/defaults/main.yml', 'pos_data_io_timeout: 30', 'pos_data_io_timeout: thirty')
    problems = check_default_types(tree)
    assert any('pos_data_io_timeout' in p and 'roles/pos_data entry point sync' in p for p in problems), problems
