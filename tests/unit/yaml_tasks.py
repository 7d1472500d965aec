"""Tasks of Ansible YAML as the unit tests read it: every task of a task list, blocks opened."""


def all_tasks(node):
    """Every task in ``node`` (a task list, a task, or None), each followed by the tasks of its block,
    rescue and always sections."""
    if isinstance(node, list):
        for item in node:
            yield from all_tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ('block', 'rescue', 'always'):
            yield from all_tasks(node.get(key))
