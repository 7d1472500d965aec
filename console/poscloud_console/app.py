# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The console's screens (Textual): the store list, a store's header and menu, the action dialog
(typed store id for what deletes or interrupts service, check mode where the playbook has it), and
the live view of a playbook run."""
import os
import shlex
import subprocess
import time

from rich.markup import escape
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, OptionList, ProgressBar, RichLog, Static
from textual.widgets.option_list import Option

from poscloud_console.actions import by_key, confirmed, menu, run_request
from poscloud_console.header import header_lines, read_header
from poscloud_console.project import ConsoleError
from poscloud_console.runner import PlaybookRun, recap_line

HEADER_REFRESH_SECONDS = 60
STATUS_STYLE = {'ok': 'green', 'changed': 'yellow', 'failed': 'bold red', 'unreachable': 'bold red',
                'skipped': 'cyan', 'failed (ignored)': 'magenta'}


class StoreList(Screen):
    """The inventory's stores and machines, searchable by id or name."""

    BINDINGS = [Binding('escape', 'app.quit', 'Exit'), Binding('/', 'search', 'Search')]

    def compose(self) -> ComposeResult:
        yield Static('POS Cloud Console - %s' % self.app.inventory_label, id='title')
        yield Input(placeholder='Search by store id or name', id='search')
        yield DataTable(id='stores', cursor_type='row', zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one('#stores', DataTable)
        table.add_columns('Id', 'Name', 'POS IP', 'Kind')
        self.fill('')
        table.focus()

    def fill(self, text):
        table = self.query_one('#stores', DataTable)
        table.clear()
        for h in self.app.hosts:
            if h.matches(text):
                table.add_row(h.ident, h.title or '-', h.pos_ip or '-', h.kind, key=h.name)

    def action_search(self) -> None:
        self.query_one('#search', Input).focus()

    @on(Input.Changed, '#search')
    def search_changed(self, event: Input.Changed) -> None:
        self.fill(event.value)

    @on(Input.Submitted, '#search')
    def search_submitted(self) -> None:
        table = self.query_one('#stores', DataTable)
        if table.row_count == 1:
            self.open(table.coordinate_to_cell_key(Coordinate(0, 0)).row_key.value)
        else:
            table.focus()

    @on(DataTable.RowSelected, '#stores')
    def row_selected(self, event: DataTable.RowSelected) -> None:
        self.open(event.row_key.value)

    def open(self, name):
        host = next(h for h in self.app.hosts if h.name == name)
        self.app.push_screen(HostScreen(host))


class HostScreen(Screen):
    """A store's (or machine's) header and menu. Typing an item's key (1, 11, 112, p) moves to it;
    Enter runs it."""

    BINDINGS = [Binding('escape', 'back', 'Back'), Binding('r', 'refresh', 'Refresh header'),
                Binding('x', 'app.quit', 'Exit')]

    def __init__(self, host):
        super().__init__()
        self.host = host
        self.typed = ''

    def compose(self) -> ComposeResult:
        yield Static(self.title_line(), id='title')
        yield Static('reading the store header...' if self.host.kind == 'store' else self.machine_header(), id='header')
        yield OptionList(*[Option('%4s. %s' % (a.key, a.label), id=a.key) for a in menu(self.host.kind)], id='menu')
        yield Static('Enter selection: ', id='selection')
        yield Footer()

    def title_line(self):
        return '%s %s' % (self.host.title or self.host.name, self.host.ident)

    def machine_header(self):
        return 'Machine %s  address %s  groups %s' % (self.host.name, self.host.pos_ip or '-', ', '.join(self.host.groups))

    def on_mount(self) -> None:
        self.query_one('#menu', OptionList).focus()
        if self.host.kind == 'store':
            self.action_refresh()
            self.set_interval(HEADER_REFRESH_SECONDS, self.action_refresh)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.load_header()

    @work(thread=True, exclusive=True, group='header')
    def load_header(self) -> None:
        try:
            text = '\n'.join(header_lines(read_header(self.app.root, self.app.inventory, self.host))[2:])
            when = time.strftime('%H:%M:%S')
            self.app.call_from_thread(self.show_header, '%s\n(read %s; r to refresh)' % (text, when))
        except ConsoleError as e:
            self.app.call_from_thread(self.show_header, 'The header could not be read: %s' % e)

    def show_header(self, text):
        self.query_one('#header', Static).update(escape(text))

    def on_key(self, event) -> None:
        char = event.character or ''
        if not char or not (char.isdigit() or char in 'pks'):
            return
        keys = [a.key for a in menu(self.host.kind)]
        typed = self.typed + char
        if not any(k.startswith(typed) for k in keys):
            typed = char
        self.typed = typed if any(k.startswith(typed) for k in keys) else ''
        self.query_one('#selection', Static).update('Enter selection: %s' % self.typed)
        if self.typed in keys:
            options = self.query_one('#menu', OptionList)
            options.highlighted = options.get_option_index(self.typed)
        event.stop()

    @on(OptionList.OptionSelected, '#menu')
    def selected(self, event: OptionList.OptionSelected) -> None:
        self.typed = ''
        self.query_one('#selection', Static).update('Enter selection: ')
        action = by_key(event.option.id, self.host.kind)
        if action.key == '4':
            self.connect()
        elif action.key == '5':
            self.app.push_screen(BackupSetPicker(self.host), self.restore_set_picked)
        elif action.guarded or action.check_mode:
            self.app.push_screen(ActionDialog(action, self.host), lambda mode: self.dialog_done(action, mode))
        else:
            self.start(action, check=False)

    def restore_set_picked(self, name):
        if name:
            action = by_key('5')
            self.app.push_screen(ActionDialog(action, self.host, {'pos_data_restore_set': name}),
                                 lambda mode: self.dialog_done(action, mode, {'pos_data_restore_set': name}))

    def dialog_done(self, action, mode, extra=None):
        if mode in ('run', 'check'):
            self.start(action, check=(mode == 'check'), extra=extra)

    def start(self, action, check, extra=None):
        self.app.push_screen(RunScreen(action, self.host, run_request(action, self.host, check, extra), check))

    def connect(self):
        argv = connect_argv(self.host, self.app.hostvars_connection(self.host))
        with self.app.suspend():
            print('$ %s   (exit to come back to the console)' % ' '.join(shlex.quote(a) for a in argv))
            subprocess.run(argv, check=False)


def connect_argv(host, connection):
    """Connect to POS: a shell in the store's instance, through the cloud host when it is remote."""
    container = 'pos_%s' % host.ident
    inner = ['docker', 'exec', '-it', container, 'sh', '-c', 'command -v bash >/dev/null && exec bash || exec sh']
    if connection.get('ansible_connection', 'ssh') == 'local':
        return inner
    user = connection.get('support_user') or connection.get('ansible_user')
    target = ('%s@' % user if user else '') + (connection.get('ansible_host') or host.name)
    return ['ssh', '-t', target] + [shlex.quote(a) for a in inner]


class ActionDialog(ModalScreen):
    """Run, check mode, or cancel; for an action that deletes or interrupts service, the store id must be
    typed first."""

    BINDINGS = [Binding('escape', 'cancel', 'Cancel')]

    def __init__(self, action, host, extra=None):
        super().__init__()
        self.action_item = action
        self.host = host
        self.extra = extra or {}

    def compose(self) -> ComposeResult:
        a = self.action_item
        with Vertical(id='dialog'):
            yield Label('%s - %s %s' % (a.label, self.host.kind, self.host.ident), id='dialog-title')
            if a.note:
                yield Label(a.note)
            if self.extra:
                yield Label(', '.join('%s=%s' % kv for kv in sorted(self.extra.items())))
            if a.guarded:
                yield Label('Type the %s id %s to go ahead:' % (self.host.kind, self.host.ident))
                yield Input(placeholder=self.host.ident, id='typed')
            yield Label('', id='refusal')
            with Horizontal():
                yield Button('Run', id='run', variant='error' if a.guarded else 'primary')
                if a.check_mode:
                    yield Button('Check mode (what would this do)', id='check')
                yield Button('Cancel', id='cancel')

    def on_mount(self) -> None:
        first = self.query('#typed') or self.query('#run')
        first.first().focus()

    def action_cancel(self) -> None:
        self.dismiss('cancel')

    @on(Input.Submitted, '#typed')
    def typed_submitted(self) -> None:
        self.query_one('#run', Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        if event.button.id == 'cancel':
            self.dismiss('cancel')
            return
        if self.action_item.guarded:
            typed = self.query_one('#typed', Input).value
            if not confirmed(self.host, typed):
                self.query_one('#refusal', Label).update(
                    'Refused: type %s exactly to go ahead with %s (typed: %r). Nothing was run.'
                    % (self.host.ident, self.action_item.label, typed))
                return
        self.dismiss(event.button.id)


class BackupSetPicker(ModalScreen):
    """The store's backup sets with their time and manifest digest, read by playbooks/backup_sets.yml."""

    BINDINGS = [Binding('escape', 'cancel', 'Cancel')]

    def __init__(self, host):
        super().__init__()
        self.host = host

    def compose(self) -> ComposeResult:
        with Vertical(id='dialog'):
            yield Label('Restore POS Data - pick a backup set of store %s' % self.host.ident)
            yield OptionList(id='sets')
            yield Label('reading the backup sets...', id='sets-note')

    def on_mount(self) -> None:
        self.load()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(thread=True)
    def load(self) -> None:
        run = PlaybookRun(self.app.root, self.app.inventory,
                          {'playbook': 'backup_sets.yml', 'limit': self.host.name, 'extravars': {}, 'cmdline': []},
                          'sets', watch_fact='pos_data_sets').start()
        run.wait()
        self.app.call_from_thread(self.show, run)

    def show(self, run):
        sets = run.fact or []
        note = self.query_one('#sets-note', Label)
        if run.rc != 0:
            note.update('The backup sets could not be read (log: %s)' % run.private_dir)
            return
        options = self.query_one('#sets', OptionList)
        for s in sorted(sets, key=lambda s: s.get('set', ''), reverse=True):
            options.add_option(Option('%s  %s  %s files  digest %s' % (
                s.get('set'), s.get('made') or '-', s.get('files', '-'), (s.get('manifest_digest') or '-')[:12]),
                id=s.get('set')))
        note.update('%d set(s); Enter picks one, Escape cancels' % len(sets) if sets else
                    'No backup set (make one with 6. Back up POS Data)')
        options.focus()

    @on(OptionList.OptionSelected, '#sets')
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class RunScreen(Screen):
    """A playbook run: each task as it starts and ends (host, ok/changed/failed), a progress bar while
    it runs, then the recap and the playbook's own summary."""

    BINDINGS = [Binding('escape', 'back', 'Back (when done)'), Binding('c', 'cancel_run', 'Cancel the run')]

    def __init__(self, action, host, request, check):
        super().__init__()
        self.action_item = action
        self.host = host
        self.request = request
        self.check = check
        self.run = None
        self.counts = {}
        self.started = time.time()

    def compose(self) -> ComposeResult:
        mode = ' (check mode: nothing is changed)' if self.check else ''
        yield Static('%s - %s %s%s' % (self.action_item.label, self.host.kind, self.host.ident, mode), id='title')
        yield ProgressBar(total=None, show_eta=False, id='progress')
        yield Static('starting...', id='counts')
        yield RichLog(id='tasks', wrap=True, markup=True, highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        self.run = PlaybookRun(self.app.root, self.app.inventory, self.request, self.action_item.key,
                               on_line=lambda line: self.app.call_from_thread(self.add_line, line),
                               on_done=lambda rc, stats: self.app.call_from_thread(self.finished, rc, stats))
        self.run.start()
        self.set_interval(1, self.tick)

    def tick(self) -> None:
        if self.run and self.run.status == 'running':
            self.show_counts('running')

    def show_counts(self, state):
        parts = ['%s %d' % (k, v) for k, v in sorted(self.counts.items())]
        self.query_one('#counts', Static).update('%s, %ds: %s' % (state, time.time() - self.started, ', '.join(parts) or '-'))

    def add_line(self, line) -> None:
        log = self.query_one('#tasks', RichLog)
        if line.status == 'started':
            return
        self.counts[line.status] = self.counts.get(line.status, 0) + 1
        style = STATUS_STYLE.get(line.status, 'white')
        log.write('[%s]%-8s[/] %s | %s' % (style, line.status, escape(line.host), escape(line.task)))
        if line.message and line.status != 'ok':
            log.write('         ' + escape(line.message[:600]))
        self.show_counts('running')

    def finished(self, rc, stats) -> None:
        self.query_one('#progress', ProgressBar).update(total=1, progress=1)
        self.show_counts('done, rc %s' % rc if rc == 0 else 'FAILED, rc %s' % rc)
        log = self.query_one('#tasks', RichLog)
        log.write('')
        for line in summary_lines(self.run, self.app.root, self.host, self.action_item):
            log.write(escape(line))
        log.write('[bold]PLAY RECAP[/]')
        for line in recap_line(stats):
            log.write(escape(line))
        log.write('Log: %s   (Escape: back)' % escape(self.run.private_dir))

    def action_cancel_run(self) -> None:
        if self.run and self.run.status == 'running':
            self.run.cancel()
            self.query_one('#counts', Static).update('cancelling...')

    def action_back(self) -> None:
        if self.run and self.run.status == 'running':
            self.query_one('#counts', Static).update('still running: wait for the end, or c to cancel the run')
            return
        self.app.pop_screen()


def summary_lines(run, root, host, action):
    """The playbook's own summary: the output of its last debug task, and for a cutover the evidence
    summary it wrote (reports/<store>/cutover.md) when this run wrote it."""
    out = []
    debug = [line for line in run.lines if line.status == 'ok' and line.message]
    if debug:
        out += ['[%s] %s' % (debug[-1].host, debug[-1].task)] + debug[-1].message.splitlines()
    if action.playbook == 'deploy_pos.yml':
        report = os.path.join(root, 'reports', host.name, 'cutover.md')
        if os.path.isfile(report) and os.path.getmtime(report) >= run_started(run):
            with open(report, errors='replace') as f:
                out += ['', 'Evidence (%s):' % report] + f.read().splitlines()
    return out


def run_started(run):
    try:
        return os.path.getctime(run.private_dir)
    except OSError:
        return time.time()


class ConsoleApp(App):
    TITLE = 'POS Cloud Console'
    CSS = """
    #title { background: $primary; color: $text; padding: 0 1; }
    #header { padding: 0 1; height: auto; max-height: 14; }
    #menu { height: 1fr; }
    #selection { padding: 0 1; }
    #dialog { width: 76; height: auto; border: thick $error; padding: 1 2; background: $surface; }
    ActionDialog, BackupSetPicker { align: center middle; }
    #refusal { color: $error; }
    #tasks { height: 1fr; }
    #sets { height: auto; max-height: 12; }
    """

    def __init__(self, root, inventory, hosts, start=None):
        super().__init__()
        self.root = root
        self.inventory = inventory
        self.hosts = hosts
        self.start_host = start
        self.inventory_label = os.path.relpath(inventory, root) if inventory.startswith(root) else inventory

    def on_mount(self) -> None:
        self.push_screen(StoreList())
        if self.start_host is not None:
            self.push_screen(HostScreen(self.start_host))

    def hostvars_connection(self, host):
        """How the store's cloud host is reached, from the inventory (for Connect to POS)."""
        import json
        from poscloud_console.project import environment
        proc = subprocess.run(['ansible-inventory', '-i', self.inventory, '--host', host.name],
                              env=environment(self.root), capture_output=True, text=True, timeout=60, check=False)
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            data = {}
        return {k: v for k, v in data.items() if k in ('ansible_connection', 'ansible_host', 'ansible_user', 'support_user')
                and isinstance(v, str) and '{{' not in v}
