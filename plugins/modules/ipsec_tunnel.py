#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipsec_tunnel
short_description: Manage one strongSwan IKEv2 site-to-site tunnel through swanctl
version_added: 0.1.0
description:
  - Writes one strongSwan connection as C(<swanctl_dir>/conf.d/<name>.conf) and its pre-shared key as
    C(<swanctl_dir>/conf.d/<name>.secrets.conf) (mode C(0600)), both atomically, and applies them to the
    running charon daemon with C(swanctl --load-creds) and C(swanctl --load-conns). The daemon is never
    restarted.
  - C(swanctl --load-conns) loads every file under I(swanctl_dir). strongSwan keeps connections whose
    settings did not change as they are, so the IKE and CHILD SAs of other tunnels are not re-keyed; only
    a connection whose settings changed is replaced. Loading happens only when this tunnel's files
    change or the loaded connection differs from them, so a repeated run does nothing.
  - The tunnel spec is validated before anything is touched (addresses, identities, traffic selectors
    (also against the subnets and identities of the other connections loaded on the host), proposals
    (weak algorithms and IKEv1 are refused unless I(allow_weak_crypto)), key length, DPD settings).
    A validation error changes nothing and names the option and the fix.
  - The defaults are IKEv2 with AEAD proposals, C(aes256gcm16-prfsha384-ecp384) (fallback
    C(aes256gcm16-prfsha256-modp3072)) for IKE and C(aes256gcm16-ecp384) (fallback
    C(aes256gcm16-modp3072)) for ESP, so rekeyed CHILD_SAs have perfect forward secrecy.
  - I(state=started) also brings the tunnel up with C(swanctl --initiate), I(state=stopped) takes it down
    with C(swanctl --terminate), I(state=absent) unloads the connection and its key, removes both files
    and terminates SAs still up.
  - Concurrent runs on one host (for example many stores delegated to one cloud instance) are
    serialised with a lock on C(<swanctl_dir>/conf.d).
extends_documentation_fragment:
  - poscloud.fleet.attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be written, loaded, initiated or terminated; talks to the daemon only to read.
  diff_mode:
    support: full
    details: Shows both files before and after; the secret is shown as C(<redacted>) (C(<redacted, changed>) when the key changes).
  platform:
    details:
      - Needs strongSwan's C(swanctl) and a running charon with the vici plugin on the target; run as root.
      - Tested with strongSwan 5.9.8 (Debian 12, C(charon-systemd)) using the userspace C(kernel-libipsec) data path.
options:
  name:
    description:
      - Name of the tunnel. It names the connection, its CHILD_SA, the files and the secret C(ike-<name>).
      - 1 to 63 letters, digits, C(-) and C(_), starting with a letter.
    type: str
    required: true
  state:
    description:
      - C(present) writes and loads the connection.
      - C(started) does the same and initiates the tunnel from this side unless its CHILD_SA is installed.
      - C(stopped) writes and loads the connection and terminates its IKE SA if one is up.
      - C(absent) unloads the connection and its key, removes the files and terminates SAs still up.
    type: str
    choices: [present, absent, started, stopped]
    default: present
  local_addrs:
    description:
      - Local addresses IKE may use, as IP addresses, CIDR subnets or C(%any), C(%any4), C(%any6).
      - ipsec.conf's C(%defaultroute) does not exist in swanctl; C(%any) lets charon pick the source address.
    type: list
    elements: str
    default: ['%any']
  remote_addrs:
    description:
      - Addresses of the peer, as IP addresses, DNS names, CIDR subnets or C(%any) to accept the peer from
        anywhere (responder only; I(state=started), I(start_action=start) and I(dpd_action=restart) need
        an IP address or DNS name).
      - Required unless I(state=absent).
    type: list
    elements: str
  local_id:
    description:
      - IKE identity of this side, for example its public IP address or C(pos-cloud.example.com).
      - Defaults to the single IP address in I(local_addrs); required when there is none.
    type: str
  remote_id:
    description:
      - IKE identity expected from the peer.
      - Defaults to the single IP address in I(remote_addrs); required when there is none. C(%any) is
        refused with a pre-shared key.
    type: str
  local_ts:
    description:
      - Local subnets of the tunnel in CIDR form. Host bits must be clear.
      - Required unless I(state=absent).
    type: list
    elements: str
  remote_ts:
    description:
      - Remote subnets of the tunnel in CIDR form. They must not overlap I(local_ts) nor the subnets of
        another connection loaded on the host.
      - Required unless I(state=absent).
    type: list
    elements: str
  auth:
    description:
      - How both ends authenticate.
      - C(psk) uses I(psk) and is the tested method.
      - C(certificate) renders C(auth = pubkey) with I(local_cert) and, optionally, I(remote_cacert). The
        certificate files and private key must already be in I(swanctl_dir) (C(x509/), C(x509ca/),
        C(private/)); this module does not manage them. This path is rendered and validated but has not
        been tested against a daemon.
    type: str
    choices: [psk, certificate]
    default: psk
  psk:
    description:
      - Pre-shared key, at least 20 characters. Required with I(auth=psk).
      - As in swanctl, a key starting with C(0x) is read as hex and one starting with C(0s) as base64.
      - Never shown in results, diffs or messages.
    type: str
  local_cert:
    description:
      - With I(auth=certificate), file name of this side's certificate in C(<swanctl_dir>/x509).
    type: str
  remote_cacert:
    description:
      - With I(auth=certificate), file name of the CA certificate in C(<swanctl_dir>/x509ca) the peer's
        certificate must chain to.
    type: str
  ike_version:
    description:
      - IKE major version. IKEv1 is refused unless I(allow_weak_crypto).
    type: int
    choices: [1, 2]
    default: 2
  ike_proposals:
    description:
      - IKE proposals in strongSwan syntax, most preferred first.
      - Weak algorithms (C(des), C(3des), C(md5), C(sha1), C(modp768), C(modp1024), C(modp1536),
        C(ecp192), ...) are refused unless I(allow_weak_crypto). Keywords are compared whole, so
        C(sha256) or C(prfsha384) are fine.
    type: list
    elements: str
    default: [aes256gcm16-prfsha384-ecp384, aes256gcm16-prfsha256-modp3072]
  esp_proposals:
    description:
      - ESP proposals in strongSwan syntax. Each must carry a DH group (perfect forward secrecy when
        rekeying) unless I(allow_weak_crypto).
    type: list
    elements: str
    default: [aes256gcm16-ecp384, aes256gcm16-modp3072]
  dpd_delay:
    description:
      - Seconds between dead peer detection checks when no traffic is seen; C(0) turns DPD off.
        Allowed are 0 and 5 to 3600.
    type: int
    default: 30
  dpd_action:
    description:
      - What to do with the CHILD_SA when DPD finds the peer dead. C(restart) re-initiates, which needs
        a concrete I(remote_addrs) entry.
    type: str
    choices: [clear, trap, restart]
    default: clear
  start_action:
    description:
      - What charon does when it loads the connection (including after a daemon restart).
      - C(start) initiates at once and is what the initiating side should use.
      - C(trap) installs a trap policy that initiates on traffic. With the userspace C(kernel-libipsec)
        data path no route is installed for trap policies, so traffic does not trigger it there; use
        C(start) instead.
    type: str
    choices: [none, trap, start]
    default: none
  allow_weak_crypto:
    description:
      - Accept weak algorithms, IKEv1 and ESP proposals without a DH group. Each is reported as a warning.
    type: bool
    default: false
  restart_on_change:
    description:
      - With I(state=started), when the settings changed while an IKE SA was up and charon kept that SA
        (it does for I(start_action=none)), terminate and re-initiate it so that the new settings apply.
      - Without it, or with another state, a warning says that the SA runs on the previous settings
        until it is re-established.
    type: bool
    default: true
  wait:
    description:
      - Wait until the CHILD_SA is INSTALLED, for at most I(wait_timeout) seconds, and fail otherwise
        with the daemon's log lines for this connection.
      - With I(state=started) the module initiates and waits for the result. With I(state=present) it
        waits for the peer to bring the tunnel up.
      - Without it, I(state=started) starts the initiation and returns; a failure is a warning.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the CHILD_SA, and for C(swanctl --terminate).
      - Every C(swanctl) command is stopped, and the task fails saying so, when it has not finished
        60 seconds after its own wait (a daemon that does not answer).
    type: int
    default: 30
  lock_timeout:
    description:
      - Seconds to wait for another run that holds the lock on I(swanctl_dir) before failing with a
        message that says so, from 0 (fail at once) to 86400.
    type: int
    default: 300
  swanctl_dir:
    description:
      - strongSwan's swanctl folder. Its C(swanctl.conf) must include C(conf.d/*.conf) (the packaged one
        does); when it is missing, one with just that include is created.
    type: path
    default: /etc/swanctl
  swanctl_path:
    description:
      - The C(swanctl) program. Searched on C(PATH) and in C(/usr/sbin) when not given.
    type: path
  vici_uri:
    description:
      - URI of charon's vici socket, for example C(unix:///var/run/charon.vici) (swanctl's default when
        not given). Needed when charon runs with another C(charon.plugins.vici.socket).
    type: str
  log_path:
    description:
      - Charon's file log (a C(charon.filelog) or C(charon-systemd.filelog) target), read for the lines of
        this connection when I(wait) fails. C(ike_name = yes) in the filelog settings makes the lines
        easy to attribute.
      - Without it, the output of C(swanctl --initiate) is used, and while waiting for the peer the
        module follows charon's log events on the vici socket (like C(swanctl --log)) and keeps the
        lines of this connection.
    type: path
notes:
  - With a pre-shared key the responder picks the connection by the identities in IKE_AUTH. Two
    connections on one host with the same pair of identities are refused, because the responder would
    select the first one for both.
  - The established SAs keep the proposals negotiated when they were set up; a change of proposals
    applies at the next re-establishment (see I(restart_on_change)).
  - Files of other tunnels in C(conf.d) must parse, because C(--load-conns) reads them all. When loading
    fails, this tunnel's files are restored to their previous content and reloaded.
  - C(--load-conns) unloads connections that are loaded in the daemon but are in no file, for example
    ones loaded through vici by another tool.
seealso:
  - module: poscloud.fleet.ipsec_tunnel_info
  - name: swanctl.conf reference
    description: strongSwan's swanctl.conf settings.
    link: https://docs.strongswan.org/docs/5.9/swanctl/swanctlConf.html
'''

EXAMPLES = r'''
- name: Tunnel from the cloud POS instance to store 42's router, initiated by the cloud side
  poscloud.fleet.ipsec_tunnel:
    name: store-0042
    local_addrs: [198.51.100.10]
    remote_addrs: [203.0.113.42]
    local_id: pos-cloud.example.com
    remote_id: store-0042.example.com
    local_ts: [10.201.0.0/24]
    remote_ts: [10.42.0.0/24]
    psk: "{{ vault_store_psk['0042'] }}"
    start_action: start
    dpd_action: restart
    state: started
    wait: true
    wait_timeout: 45

# The store routers are not in the inventory: the play runs over the stores' inventory data
# and every task is delegated to the cloud instance, with the router's address given literally.
- name: Tunnels for all stores of a region, set up on the cloud instance
  poscloud.fleet.ipsec_tunnel:
    name: "store-{{ item.number }}"
    local_addrs: [198.51.100.10]
    remote_addrs: ["{{ item.router_ip }}"]
    local_id: pos-cloud.example.com
    remote_id: "store-{{ item.number }}.example.com"
    local_ts: [10.201.0.0/24]
    remote_ts: ["{{ item.subnet }}"]
    psk: "{{ item.psk }}"
    start_action: start
    dpd_action: restart
    state: started
    wait: true
    log_path: /var/log/charon.log
  loop: "{{ stores }}"
  loop_control:
    label: "store-{{ item.number }}"
  delegate_to: pos-cloud-1

- name: Responder whose store router has a dynamic address, waiting for the router to connect
  poscloud.fleet.ipsec_tunnel:
    name: store-0077
    remote_addrs: ['%any']
    local_id: pos-cloud.example.com
    remote_id: store-0077.example.com
    local_ts: [10.201.0.0/24]
    remote_ts: [10.77.0.0/24]
    psk: "{{ vault_store_psk['0077'] }}"
    wait: true
    wait_timeout: 120

- name: What would change? (check mode with a diff; the key shows as <redacted>)
  poscloud.fleet.ipsec_tunnel:
    name: store-0042
    local_addrs: [198.51.100.10]
    remote_addrs: [203.0.113.42]
    local_id: pos-cloud.example.com
    remote_id: store-0042.example.com
    local_ts: [10.201.0.0/24]
    remote_ts: [10.42.0.0/24, 10.142.0.0/24]
    psk: "{{ vault_store_psk['0042'] }}"
  check_mode: true
  diff: true

- name: An old store router that only does AES-CBC with SHA-1 and MODP-1024 (warnings are reported)
  poscloud.fleet.ipsec_tunnel:
    name: store-0009
    local_addrs: [198.51.100.10]
    remote_addrs: [203.0.113.9]
    local_id: pos-cloud.example.com
    remote_id: 203.0.113.9
    local_ts: [10.201.0.0/24]
    remote_ts: [10.9.0.0/24]
    psk: "{{ vault_store_psk['0009'] }}"
    ike_proposals: [aes256-sha1-modp1024]
    esp_proposals: [aes256-sha1-modp1024]
    allow_weak_crypto: true
    state: started

- name: Take the tunnel down, keeping its configuration
  poscloud.fleet.ipsec_tunnel:
    name: store-0042
    local_addrs: [198.51.100.10]
    remote_addrs: [203.0.113.42]
    local_id: pos-cloud.example.com
    remote_id: store-0042.example.com
    local_ts: [10.201.0.0/24]
    remote_ts: [10.42.0.0/24]
    psk: "{{ vault_store_psk['0042'] }}"
    state: stopped

- name: Remove a closed store's tunnel
  poscloud.fleet.ipsec_tunnel:
    name: store-0013
    state: absent

- name: Charon running with its own vici socket and swanctl folder
  poscloud.fleet.ipsec_tunnel:
    name: lab-a
    local_addrs: [203.0.113.1]
    remote_addrs: [203.0.113.2]
    local_ts: [10.201.0.0/24]
    remote_ts: [10.202.0.0/24]
    psk: "{{ lab_psk }}"
    swanctl_dir: /srv/lab/a/swanctl
    vici_uri: unix:///srv/lab/a/run/charon.vici
    state: started
    wait: true
'''

RETURN = r'''
name:
  description: The tunnel's name.
  returned: always
  type: str
  sample: store-0042
state:
  description: The requested state.
  returned: always
  type: str
  sample: started
conf_path:
  description: The connection file.
  returned: always
  type: str
  sample: /etc/swanctl/conf.d/store-0042.conf
secrets_path:
  description: The secrets file (mode 0600).
  returned: always
  type: str
  sample: /etc/swanctl/conf.d/store-0042.secrets.conf
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: [write conf.d/store-0042.conf, write conf.d/store-0042.secrets.conf, load-creds, load-conns, initiate]
drift:
  description: Why the connection was (re)loaded although its files did not change, for example a
    connection not loaded in the daemon or loaded with other traffic selectors.
  returned: when the files were unchanged but the daemon differed
  type: list
  elements: str
  sample: [connection store-0042 is not loaded]
tunnel:
  description: The connection's settings as the module applies them (the key is left out).
  returned: unless I(state=absent)
  type: dict
  sample:
    name: store-0042
    ike_version: 2
    local_addrs: [198.51.100.10]
    remote_addrs: [203.0.113.42]
    local_id: pos-cloud.example.com
    remote_id: store-0042.example.com
    local_ts: [10.201.0.0/24]
    remote_ts: [10.42.0.0/24]
    ike_proposals: [aes256gcm16-prfsha384-ecp384, aes256gcm16-prfsha256-modp3072]
    esp_proposals: [aes256gcm16-ecp384, aes256gcm16-modp3072]
    dpd_delay: 30
    dpd_action: restart
    start_action: start
status:
  description:
    - Status of the connection after the run, as returned by M(poscloud.fleet.ipsec_tunnel_info) for one
      tunnel. In check mode, the status before the run.
  returned: when the daemon could be reached
  type: dict
  contains:
    name:
      description: Connection name.
      type: str
    loaded:
      description: Whether the daemon has the connection loaded.
      type: bool
    state:
      description: C(ESTABLISHED) when an IKE SA is established, else the state of the first IKE SA, or C(DOWN).
      type: str
      sample: ESTABLISHED
    up:
      description: Whether an established IKE SA carries an INSTALLED CHILD_SA of this name.
      type: bool
    ike_sas:
      description: The connection's IKE SAs with their CHILD_SAs, see M(poscloud.fleet.ipsec_tunnel_info).
      type: list
      elements: dict
log:
  description: The daemon's log lines for this connection gathered when the tunnel did not come up.
  returned: when I(wait) failed or an initiation failed
  type: list
  elements: str
  sample: ["[IKE] received AUTHENTICATION_FAILED notify error"]
peer_refusal:
  description:
    - Why the peer refused the tunnel, in its words, when the log lines say it - the notify it answered with
      (NO_PROPOSAL_CHOSEN, AUTHENTICATION_FAILED, TS_UNACCEPTABLE...), what that means, and the proposals in play
      (ours when the peer found none acceptable). The same sentence is in the failure message, before the log lines.
  returned: when the tunnel did not come up and the log names a refusal
  type: str
  sample: >-
    the peer answered NO_PROPOSAL_CHOSEN to IKE_SA_INIT: the peer accepts none of the proposals we offered; its
    allowed algorithms must include one of ours (or ours one of its); we offered IKE aes256gcm16-prfsha384-ecp384
    (the peer does not say which it allows: ask its administrator, or read its log)
'''

import errno
import fcntl
import glob
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.fileops import atomic_write, check_path_options
from ansible_collections.poscloud.fleet.plugins.module_utils.ike_log import peer_refusal
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.constants import (
    AUTH_METHODS, DEFAULT_AUTH, DEFAULT_DPD_ACTION, DEFAULT_DPD_DELAY, DEFAULT_ESP_PROPOSALS, DEFAULT_IKE_PROPOSALS,
    DEFAULT_IKE_VERSION, DEFAULT_LOCAL_ADDRS, DEFAULT_START_ACTION, DPD_ACTIONS, IKE_VERSIONS, REDACTED, START_ACTIONS,
    SwanctlError)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.log import filter_log_events, filter_log_lines
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.render import (
    conf_path, redact_secrets, render_conf, render_secrets, secret_of, secrets_path)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.runner import (
    COMMAND_TIMEOUT, DaemonError, Swanctl, clean_output)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.status import (
    child_installed, loaded_conn_drift, other_tunnels, tunnel_status)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.syntax import load_problems, settings_syntax_errors
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.validate import validate_name, validate_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.vici import ViciLogTap

SPEC_KEYS = ('name', 'local_addrs', 'remote_addrs', 'local_id', 'remote_id', 'local_ts', 'remote_ts', 'auth',
             'psk', 'local_cert', 'remote_cacert', 'ike_version', 'ike_proposals', 'esp_proposals', 'dpd_delay',
             'dpd_action', 'start_action', 'allow_weak_crypto')
CONF_MODE = 0o644
SECRETS_MODE = 0o600
LOG_LINES = 60


# what to do when a swanctl query fails after the module has started to act
QUERY_FIX = ('check that charon runs and answers on vici_uri (swanctl --stats), then run the task again: '
             'it carries on from what is in place')


def read_file(path):
    try:
        with open(path) as f:
            return f.read()
    except IOError as e:
        if e.errno == errno.ENOENT:
            return None
        raise


def file_mode(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


class Tunnel(object):
    def __init__(self, module):
        self.module = module
        p = module.params
        self.p = p
        self.name = p['name']
        self.dir = p['swanctl_dir'].rstrip('/') or '/'
        self.confd = os.path.join(self.dir, 'conf.d')
        self.conf_path = conf_path(self.dir, self.name)
        self.secrets_path = secrets_path(self.dir, self.name)
        binary = p['swanctl_path'] or module.get_bin_path('swanctl', required=True, opt_dirs=['/usr/sbin', '/sbin'])
        self.swanctl = Swanctl(module.run_command, binary, p['vici_uri'], self.dir, on_timeout=self.fail)
        self.actions = []
        self.result = {
            'changed': False,
            'name': self.name,
            'state': p['state'],
            'conf_path': self.conf_path,
            'secrets_path': self.secrets_path,
            'actions': self.actions,
        }
        self.psk = p.get('psk')
        self.lock_fd = None
        self.log_offset = None
        self.spec = None
        self.daemon_ok = True

    # -- helpers ---------------------------------------------------------------------------------
    def scrub(self, value):
        """Remove the pre-shared key from any text, list or dict before it leaves the module."""
        psk = self.psk
        if not psk:
            return value
        if isinstance(value, str):
            return value.replace(psk, '********')
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return dict((k, self.scrub(v)) for k, v in value.items())
        return value

    def fail(self, msg, **kwargs):
        self.unlock()
        result = dict(self.result, **kwargs)
        result.pop('changed', None)
        self.module.fail_json(msg=self.scrub(msg), changed=self.result['changed'], **self.scrub(result))

    def done(self):
        self.unlock()
        self.module.exit_json(**self.scrub(self.result))

    def list_sas(self):
        """The IKE SAs of this tunnel; a failing query fails the task with the fix."""
        try:
            return self.swanctl.list_sas(self.name)
        except DaemonError as e:
            self.fail('cannot read the SAs of tunnel %s: %s; %s' % (self.name, to_native(e), QUERY_FIX))

    def list_conns(self):
        """The loaded connections; a failing query fails the task with the fix."""
        try:
            return self.swanctl.list_conns()
        except DaemonError as e:
            self.fail('cannot read the loaded connections: %s; %s' % (to_native(e), QUERY_FIX))

    def act(self, what):
        self.actions.append(what)
        self.result['changed'] = True

    def lock(self):
        """Take the lock on the swanctl folder, waiting at most lock_timeout seconds for another run."""
        target = self.confd if os.path.isdir(self.confd) else self.dir
        if not os.path.isdir(target):
            return
        deadline = time.time() + self.p['lock_timeout']
        try:
            self.lock_fd = os.open(target, os.O_RDONLY)
            while True:
                try:
                    fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except (IOError, OSError) as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES) or time.time() >= deadline:
                        raise
                time.sleep(0.2)
        except (IOError, OSError) as e:
            os.close(self.lock_fd)
            self.lock_fd = None
            if e.errno in (errno.EAGAIN, errno.EACCES):
                self.fail('another run changing tunnels holds the lock on %s and did not release it within '
                          '%d s (lock_timeout); wait for it to finish, or raise lock_timeout'
                          % (target, self.p['lock_timeout']))
            self.fail('cannot lock %s: %s' % (target, to_native(e)))

    def unlock(self):
        if self.lock_fd is not None:
            try:
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
                os.close(self.lock_fd)
            except OSError:
                pass
            self.lock_fd = None

    def write_file(self, path, content, mode):
        # the file has exactly its mode from its first moment: a secrets file is never readable by
        # others, not even while it is written
        try:
            atomic_write(self.module, path, content, mode)
        except (IOError, OSError, ValueError) as e:
            self.fail('cannot write %s: %s' % (path, to_native(e)))

    def remove_file(self, path):
        try:
            os.unlink(path)
        except OSError as e:
            if e.errno != errno.ENOENT:
                self.fail('cannot remove %s: %s' % (path, to_native(e)))

    def mark_log(self):
        if self.p['log_path']:
            try:
                self.log_offset = os.path.getsize(self.p['log_path'])
            except OSError:
                self.log_offset = 0

    def file_log_lines(self):
        path = self.p['log_path']
        if not path or not os.path.exists(path):
            return []
        offset = self.log_offset or 0
        try:
            if os.path.getsize(path) < offset:
                offset = 0
            with open(path, errors='replace') as f:
                f.seek(offset)
                lines = f.read().splitlines()
        except (IOError, OSError):
            return []
        return filter_log_lines(lines, self.name, (self.spec or {}).get('remote_addrs') or [])

    def status(self):
        try:
            sas = self.swanctl.list_sas(self.name)
            conns = self.swanctl.list_conns()
        except DaemonError as e:
            self.module.warn('could not read the tunnel status: %s' % to_native(e))
            return None
        status = tunnel_status(self.name, sas, conns.get(self.name))
        self.result['status'] = status
        return status

    # -- apply -----------------------------------------------------------------------------------
    def check_tree(self):
        """Fail, before anything is written or loaded, when any file swanctl reads has a syntax error.

        swanctl does not stop at one: --load-conns then unloads every connection of the host.
        """
        main = os.path.join(self.dir, 'swanctl.conf')
        own = (self.conf_path, self.secrets_path)

        def read(path):
            if path in own:
                return None
            if path == main and not os.path.exists(main):
                return 'include conf.d/*.conf\n'
            try:
                return read_file(path)
            except (IOError, OSError) as e:
                self.fail('cannot read %s: %s' % (path, to_native(e)))

        errors = settings_syntax_errors(main, read, glob.glob)
        if errors:
            self.fail('the swanctl configuration under %s has a syntax error, and loading it would unload every '
                      'connection of the host; fix it first: %s' % (self.dir, '; '.join(errors)), errors=errors)

    def load(self, restore=None):
        """Load credentials and connections; on failure restore the previous files and fail."""
        failures = []
        for what in ('creds', 'conns'):
            rc, out, err = self.swanctl.load(what)
            self.actions.append('load-%s' % what)
            text = clean_output(out + '\n' + err)
            fatal, warnings = load_problems(self.name, what, rc, text,
                                            secret_expected=bool(self.spec and self.spec.get('psk')))
            for warning in warnings:
                self.module.warn(warning)
            if fatal:
                failures.append('swanctl --load-%s: %s' % (what, '; '.join(fatal)))
                break
        if failures:
            if restore is not None:
                for path, content, mode in restore:
                    if content is None:
                        self.remove_file(path)
                    else:
                        self.write_file(path, content, mode)
                for what in ('creds', 'conns'):
                    self.swanctl.load(what)
                failures.append('the previous files of %s were restored and reloaded' % self.name)
            self.fail('; '.join(failures))

    def ensure_swanctl_conf(self):
        main = os.path.join(self.dir, 'swanctl.conf')
        if os.path.exists(main):
            content = read_file(main) or ''
            if 'conf.d' not in content:
                self.module.warn('%s does not seem to include conf.d/*.conf; the tunnel files may not be loaded'
                                 % main)
            return
        self.act('create %s' % main)
        if not self.module.check_mode:
            self.write_file(main, '# Created by poscloud.fleet.ipsec_tunnel\ninclude conf.d/*.conf\n', CONF_MODE)

    def ensure_confd(self):
        if os.path.isdir(self.confd):
            return
        self.act('create %s' % self.confd)
        if not self.module.check_mode:
            try:
                os.makedirs(self.confd, 0o755)
            except OSError as e:
                self.fail('cannot create %s: %s' % (self.confd, to_native(e)))

    def present(self):
        p = self.p
        spec_in = dict((k, p.get(k)) for k in SPEC_KEYS)
        self.lock()
        # Reading the loaded connections changes nothing; they are needed to check this tunnel's
        # subnets and identities against the other tunnels, and all input errors are reported at once.
        conns = {}
        daemon_ok = True
        daemon_error = None
        try:
            conns = self.swanctl.list_conns()
        except DaemonError as e:
            daemon_ok = self.daemon_ok = False
            daemon_error = to_native(e)
        try:
            spec, warnings = validate_spec(spec_in, others=other_tunnels(conns, self.name))
        except SwanctlError as e:
            self.fail('invalid tunnel %s: %s' % (self.name, e), errors=e.errors)
        if not daemon_ok:
            if not self.module.check_mode:
                self.fail('cannot talk to charon: %s. Is the strongSwan daemon running, and is vici_uri right?'
                          % daemon_error)
            self.module.warn('cannot talk to charon, so the check covers the files only: %s' % daemon_error)
        if p['state'] == 'started' and not [a for a in spec['remote_addrs'] if not a.startswith('%') and '/' not in a]:
            self.fail('state: started initiates the tunnel from this side, which needs a concrete remote_addrs entry '
                      '(an IP address or DNS name), not %s; use state=present on a responder'
                      % ', '.join(spec['remote_addrs']))
        self.spec = spec
        for warning in warnings:
            self.module.warn(warning)
        self.result['tunnel'] = dict((k, v) for k, v in spec.items() if k != 'psk')

        self.mark_log()
        self.ensure_confd()
        self.ensure_swanctl_conf()

        conf_new = render_conf(spec)
        secrets_new = render_secrets(spec)
        conf_old = read_file(self.conf_path)
        secrets_old = read_file(self.secrets_path)
        files = []
        if conf_old != conf_new or (conf_old is not None and file_mode(self.conf_path) != CONF_MODE):
            files.append((self.conf_path, conf_new, CONF_MODE))
        if secrets_new is None:
            if secrets_old is not None:
                files.append((self.secrets_path, None, None))
        elif secrets_old != secrets_new or file_mode(self.secrets_path) != SECRETS_MODE:
            files.append((self.secrets_path, secrets_new, SECRETS_MODE))

        marker = REDACTED
        if secrets_old is not None and secrets_new is not None and secret_of(secrets_old) != secret_of(secrets_new):
            marker = '<redacted, changed>'
        self.result['diff'] = [
            {'before_header': self.conf_path, 'after_header': self.conf_path,
             'before': conf_old or '', 'after': conf_new},
            {'before_header': self.secrets_path, 'after_header': self.secrets_path,
             'before': redact_secrets(secrets_old) or '', 'after': redact_secrets(secrets_new, marker) or ''},
        ]

        drift = loaded_conn_drift(spec, conns.get(self.name)) if daemon_ok else []
        if drift and not files:
            self.result['drift'] = drift
        need_load = bool(files) or bool(drift)

        sas_before = self.list_sas() if daemon_ok else []

        if need_load:
            self.check_tree()
            restore = []
            for path, content, mode in files:
                old = conf_old if path == self.conf_path else secrets_old
                restore.append((path, old, CONF_MODE if path == self.conf_path else SECRETS_MODE))
                self.act(('remove %s' if content is None else 'write %s') % os.path.relpath(path, self.dir))
                if not self.module.check_mode:
                    if content is None:
                        self.remove_file(path)
                    else:
                        self.write_file(path, content, mode)
            if self.module.check_mode:
                self.act('load-creds')
                self.act('load-conns')
            else:
                self.result['changed'] = True
                self.load(restore)

        if not daemon_ok:
            return
        state = self.p['state']
        # An SA that was up before the connection's settings changed and that charon kept (it does
        # with start_action=none) runs on the old settings. A new key alone does not matter to an
        # established SA: it is used at the next authentication.
        kept = []
        conf_changed = any(path == self.conf_path for path, _content, _mode in files)
        if conf_changed and not self.module.check_mode:
            before_ids = set(sa['uniqueid'] for sa in sas_before)
            kept = [sa for sa in self.list_sas() if sa['uniqueid'] in before_ids]
        elif conf_changed:
            kept = sas_before
        if kept and state == 'started' and self.p['restart_on_change']:
            for sa in kept:
                self.terminate(ike_id=sa['uniqueid'])
            self.initiate()
            return
        if kept and state in ('present', 'started'):
            self.module.warn('the IKE SA of %s that was up keeps running on the previous settings until it is '
                             're-established (state=stopped then started, or restart_on_change with state=started)'
                             % self.name)
        if state == 'started':
            sas = sas_before if self.module.check_mode else self.list_sas()
            if child_installed(sas, self.name):
                return
            if busy(sas):
                # charon is already at it (start_action=start after a load, or an earlier initiation):
                # a second initiation would make a duplicate IKE SA.
                self.actions.append('wait for the initiation under way')
                if not self.module.check_mode:
                    self.wait_installed(self.p['wait_timeout'] if self.p['wait'] else 0,
                                        'the initiation under way did not bring tunnel %s up' % self.name,
                                        required=self.p['wait'])
                return
            self.initiate()
        elif state == 'stopped':
            sas = sas_before if self.module.check_mode else self.list_sas()
            if sas:
                self.terminate()
        elif state == 'present' and self.p['wait'] and not self.module.check_mode:
            self.wait_installed(self.p['wait_timeout'], 'tunnel %s was not brought up by the peer' % self.name)

    def initiate(self):
        self.act('initiate')
        if self.module.check_mode:
            return
        timeout = self.p['wait_timeout'] if self.p['wait'] else 2
        rc, out, err = self.swanctl.run('--initiate', '--child', self.name, '--timeout', str(timeout),
                                        '--loglevel', '1', seconds=timeout + COMMAND_TIMEOUT)
        if rc == 0:
            return
        text = clean_output(out + '\n' + err)
        pending = 'not established after' in text
        if not self.p['wait'] and pending:
            return
        lines = text.splitlines()
        verdicts = [line for line in lines if line.startswith('initiate failed')]
        lines = [line for line in lines if not line.startswith('initiate failed')]
        reason = verdicts[-1] if verdicts else (lines[-1] if lines else 'swanctl --initiate failed (rc=%d)' % rc)
        file_lines = self.file_log_lines()
        log = (file_lines or lines)[-LOG_LINES:]
        # the peer's own words first: the notify it answered with, and the proposals in play
        refusal = self.refusal(file_lines + lines)
        if self.p['wait']:
            self.result['log'] = log
            self.status()
            self.fail('tunnel %s did not come up within %ds: %s%s%s'
                      % (self.name, self.p['wait_timeout'], reason, refusal, summary(log)))
        self.result['log'] = log
        self.module.warn('initiating %s failed: %s%s' % (self.name, reason, refusal))

    def refusal(self, lines):
        """'; <why the peer refused>' from log lines, or '' (also kept in the result as peer_refusal)."""
        spec = self.spec or {}
        text = peer_refusal(lines, spec.get('ike_proposals'), spec.get('esp_proposals'))
        if text:
            self.result['peer_refusal'] = text
        return '; ' + text if text else ''

    def terminate(self, ike_id=None):
        self.act('terminate' if ike_id is None else 'terminate IKE SA #%s' % ike_id)
        if self.module.check_mode:
            return
        target = ['--ike', self.name] if ike_id is None else ['--ike-id', str(ike_id)]
        rc, out, err = self.swanctl.run('--terminate', *(target + ['--timeout', str(self.p['wait_timeout'])]),
                                        seconds=self.p['wait_timeout'] + COMMAND_TIMEOUT)
        text = clean_output(out + '\n' + err)
        if rc != 0 and 'no matching SAs' not in text:
            self.fail('swanctl --terminate %s failed (rc=%d): %s' % (' '.join(target), rc, text))

    def wait_installed(self, limit, failure, required=True):
        """Poll until the CHILD_SA is installed; fail after ``limit`` seconds with the log lines."""
        deadline = time.time() + limit
        tap = None
        if not self.p['log_path'] and limit > 0:
            tap = ViciLogTap(self.p['vici_uri']).start()
        try:
            while True:
                sas = self.swanctl.list_sas(self.name)
                if child_installed(sas, self.name):
                    if tap:
                        tap.stop()
                    return True
                if time.time() >= deadline or (not required and not busy(sas)):
                    break
                if tap:
                    tap.poll()
                time.sleep(1)
        except DaemonError as e:
            if tap:
                tap.stop()
            self.fail('cannot read the SAs of tunnel %s: %s; %s' % (self.name, to_native(e), QUERY_FIX))
        log = self.file_log_lines()
        if tap:
            log = filter_log_events(tap.stop(), self.name, self.spec['remote_addrs'])
        if not required:
            return False
        refusal = self.refusal(log)
        log = log[-LOG_LINES:]
        self.result['log'] = log
        self.status()
        self.fail('%s within %ds%s%s' % (failure, limit, refusal,
                                         summary(log) or '; no log lines of this connection were seen'))

    def absent(self):
        try:
            validate_name(self.name)
        except SwanctlError as e:
            self.fail(to_native(e), errors=e.errors)
        self.lock()
        conf_old = read_file(self.conf_path)
        secrets_old = read_file(self.secrets_path)
        self.result['diff'] = [
            {'before_header': self.conf_path, 'after_header': self.conf_path, 'before': conf_old or '', 'after': ''},
            {'before_header': self.secrets_path, 'after_header': self.secrets_path,
             'before': redact_secrets(secrets_old) or '', 'after': ''},
        ]
        daemon_ok = True
        conns = {}
        sas = []
        try:
            conns = self.swanctl.list_conns()
            sas = self.swanctl.list_sas(self.name)
        except DaemonError as e:
            daemon_ok = self.daemon_ok = False
            self.module.warn('cannot talk to charon, only the files are removed: %s' % to_native(e))
        if daemon_ok and (conf_old is not None or secrets_old is not None or self.name in conns):
            self.check_tree()
        for path, old in ((self.conf_path, conf_old), (self.secrets_path, secrets_old)):
            if old is not None:
                self.act('remove %s' % os.path.relpath(path, self.dir))
                if not self.module.check_mode:
                    self.remove_file(path)
        if daemon_ok and (conf_old is not None or secrets_old is not None or self.name in conns):
            if self.module.check_mode:
                self.act('load-creds')
                self.act('load-conns')
            else:
                if conf_old is None and secrets_old is None:
                    self.result['changed'] = True
                self.load()
                if self.name in self.list_conns():
                    self.module.warn('connection %s is still loaded after --load-conns: it is defined in another '
                                     'file under %s' % (self.name, self.dir))
        if daemon_ok and sas:
            self.terminate()


def busy(sas):
    """Whether an IKE SA of the list is still being set up or is creating a CHILD_SA."""
    for sa in sas:
        if sa['state'] in ('CREATED', 'CONNECTING', 'REKEYING', 'REKEYED'):
            return True
        if 'CHILD_CREATE' in sa['tasks_active'] or 'CHILD_CREATE' in sa['tasks_queued']:
            return True
    return False


def summary(log):
    if not log:
        return ''
    return '; last daemon log lines: ' + ' | '.join(log[-8:])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent', 'started', 'stopped']),
            local_addrs=dict(type='list', elements='str', default=list(DEFAULT_LOCAL_ADDRS)),
            remote_addrs=dict(type='list', elements='str'),
            local_id=dict(type='str'),
            remote_id=dict(type='str'),
            local_ts=dict(type='list', elements='str'),
            remote_ts=dict(type='list', elements='str'),
            auth=dict(type='str', default=DEFAULT_AUTH, choices=list(AUTH_METHODS)),
            psk=dict(type='str', no_log=True),
            local_cert=dict(type='str'),
            remote_cacert=dict(type='str'),
            ike_version=dict(type='int', default=DEFAULT_IKE_VERSION, choices=list(IKE_VERSIONS)),
            ike_proposals=dict(type='list', elements='str', default=list(DEFAULT_IKE_PROPOSALS)),
            esp_proposals=dict(type='list', elements='str', default=list(DEFAULT_ESP_PROPOSALS)),
            dpd_delay=dict(type='int', default=DEFAULT_DPD_DELAY),
            dpd_action=dict(type='str', default=DEFAULT_DPD_ACTION, choices=list(DPD_ACTIONS)),
            start_action=dict(type='str', default=DEFAULT_START_ACTION, choices=list(START_ACTIONS)),
            allow_weak_crypto=dict(type='bool', default=False),
            restart_on_change=dict(type='bool', default=True),
            wait=dict(type='bool', default=False),
            wait_timeout=dict(type='int', default=30),
            lock_timeout=dict(type='int', default=300),
            swanctl_dir=dict(type='path', default='/etc/swanctl'),
            swanctl_path=dict(type='path'),
            vici_uri=dict(type='str'),
            log_path=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    check_path_options(module)
    if not 1 <= module.params['wait_timeout'] <= 3600:
        module.fail_json(msg='wait_timeout: %d is out of range; use 1 to 3600 seconds' % module.params['wait_timeout'])
    if not 0 <= module.params['lock_timeout'] <= 86400:
        module.fail_json(msg='lock_timeout: %d is out of range; use 0 to 86400 seconds' % module.params['lock_timeout'])
    tunnel = Tunnel(module)
    if module.params['state'] == 'absent':
        tunnel.absent()
    else:
        tunnel.present()
    if tunnel.daemon_ok:
        tunnel.status()
    tunnel.done()


if __name__ == '__main__':
    main()
