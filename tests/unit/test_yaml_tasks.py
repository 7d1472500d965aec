"""The unit tests' walk over the tasks of Ansible YAML."""
from ansible_collections.poscloud.fleet.tests.unit.yaml_tasks import all_tasks


def test_every_task_of_blocks_rescues_and_always_sections_in_order():
    tasks = [
        {'name': 'a'},
        {'name': 'b', 'block': [{'name': 'b1', 'block': [{'name': 'b11'}]}],
         'rescue': [{'name': 'r1'}], 'always': None},
        None,
    ]
    assert [t['name'] for t in all_tasks(tasks)] == ['a', 'b', 'b1', 'b11', 'r1']
    assert list(all_tasks(None)) == []
    assert [t['name'] for t in all_tasks({'name': 'one'})] == ['one']
