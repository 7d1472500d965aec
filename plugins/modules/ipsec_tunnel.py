#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipsec_tunnel
short_description: Manage strongSwan IKEv2 site-to-site tunnels through swanctl, one or all of a host's in one call
version_added: 0.1.0
description:
  - With O(tunnels), the whole set of a host's tunnels in one call - what a playbook needs to bring a
    store's tunnels up in one round trip. The files of every tunnel and charon's own settings
    (O(charon)) are read at once; what differs is written atomically; charon is restarted only when its
    settings changed, and the module waits until it answers; one C(swanctl --load-creds) and
    C(--load-conns) load all changes; each tunnel is brought to O(state) (initiated and waited for
    with O(wait)); the status of every tunnel of the set is returned in C(tunnels), as
    M(poscloud.fleet.ipsec_tunnel_info) returns it. A tunnel that does not come up does not stop the
    others; the task fails at the end naming each one and why.
  - With O(container), the module runs on the host of a Docker engine and manages the charon of one of
    its containers - every file is read and written, and every command run, through C(docker exec).
  - Writes one strongSwan connection as C(<swanctl_dir>/conf.d/<name>.conf) and its pre-shared key as
    C(<swanctl_dir>/conf.d/<name>.secrets.conf) (mode C(0600)), both atomically, and applies them to the
    running charon daemon with C(swanctl --load-creds) and C(swanctl --load-conns). The daemon is never
    restarted.
  - C(swanctl --load-conns) loads every file under O(swanctl_dir). strongSwan keeps connections whose
    settings did not change as they are, so the IKE and CHILD SAs of other tunnels are not re-keyed; only
    a connection whose settings changed is replaced. Loading happens only when this tunnel's files
    change or the loaded connection differs from them, so a repeated run does nothing.
  - The tunnel spec is validated before anything is touched (addresses, identities, traffic selectors
    (also against the subnets and identities of the other connections loaded on the host), proposals
    (weak algorithms and IKEv1 are refused unless O(allow_weak_crypto)), key length, DPD settings).
    A validation error changes nothing and names the option and the fix.
  - The defaults are IKEv2 with AEAD proposals, C(aes256gcm16-prfsha384-ecp384) (fallback
    C(aes256gcm16-prfsha256-modp3072)) for IKE and C(aes256gcm16-ecp384) (fallback
    C(aes256gcm16-modp3072)) for ESP, so rekeyed CHILD_SAs have perfect forward secrecy.
  - O(state=started) also brings the tunnel up with C(swanctl --initiate), O(state=stopped) takes it down
    with C(swanctl --terminate), O(state=absent) unloads the connection and its key, removes both files
    and terminates SAs still up.
  - Concurrent runs on one host (for example many stores delegated to one cloud instance) are
    serialised with a lock on C(<swanctl_dir>/conf.d).
extends_documentation_fragment: [poscloud.fleet.attributes, poscloud.fleet.swanctl, poscloud.fleet.docker_engine]
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
      - One of O(name) and O(tunnels) is required.
    type: str
  tunnels:
    description:
      - The host's tunnels, managed together in one call (see the description). Each entry takes the
        options of one tunnel; what an entry does not give comes from the option of the same name of
        the task (so O(psk), O(local_addrs) or the proposals may be given once for all).
      - Each entry needs a O(name) of its own.
      - Loading is done once for all of them, so a change to one tunnel does not re-key the others.
    type: list
    elements: dict
    version_added: 0.3.0
    suboptions:
      name: {description: "Name of the tunnel, as O(name).", type: str, required: true}
      local_addrs: {description: As O(local_addrs)., type: list, elements: str}
      remote_addrs: {description: As O(remote_addrs)., type: list, elements: str}
      local_id: {description: As O(local_id)., type: str}
      remote_id: {description: As O(remote_id)., type: str}
      local_ts: {description: As O(local_ts)., type: list, elements: str}
      remote_ts: {description: As O(remote_ts)., type: list, elements: str}
      auth: {description: As O(auth)., type: str, choices: [psk, certificate]}
      psk: {description: As O(psk); never shown., type: str}
      local_cert: {description: As O(local_cert)., type: str}
      remote_cacert: {description: As O(remote_cacert)., type: str}
      ike_version: {description: As O(ike_version)., type: int, choices: [1, 2]}
      ike_proposals: {description: As O(ike_proposals)., type: list, elements: str}
      esp_proposals: {description: As O(esp_proposals)., type: list, elements: str}
      dpd_delay: {description: As O(dpd_delay)., type: int}
      dpd_action: {description: As O(dpd_action)., type: str, choices: [clear, trap, restart]}
      start_action: {description: As O(start_action)., type: str, choices: [none, trap, start]}
      allow_weak_crypto: {description: As O(allow_weak_crypto)., type: bool}
  charon:
    description:
      - charon's own settings, written with O(tunnels) under O(charon.settings_dir). When one changes, charon is
        restarted (with systemd, C(systemctl restart strongswan); without, charon is stopped and the
        instance's init starts it again) and the module waits until it answers. Unchanged settings
        (comments aside) never restart it; tunnels are never a reason to restart it.
    type: dict
    version_added: 0.3.0
    suboptions:
      datapath:
        description:
          - The IPsec data path, written as C(charon/kernel-libipsec.conf). V(kernel) is the kernel's IPsec,
            V(libipsec) strongSwan's userspace data path with a TUN device (for kernels without ESP support),
            V(auto) the kernel's when it has ESP support (module C(esp4)), else libipsec.
          - Not managed when not given.
        type: str
        choices: [auto, kernel, libipsec]
      filelog:
        description:
          - charon's file log, written as C(charon-logging.conf) (IKE and configuration messages at level 1,
            one line each as it happens). Give the same path as O(log_path) to have its lines in failures.
          - Not managed when not given.
        type: path
      settings_dir:
        description: strongSwan's settings folder.
        type: path
        default: /etc/strongswan.d
      wait_timeout:
        description: Seconds to wait for charon to answer, after a restart or when it is starting.
        type: int
        default: 30
  state:
    description:
      - V(present) writes and loads the connection.
      - V(started) does the same and initiates the tunnel from this side unless its CHILD_SA is installed.
      - V(stopped) writes and loads the connection and terminates its IKE SA if one is up.
      - V(absent) unloads the connection and its key, removes the files and terminates SAs still up.
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
        anywhere (responder only; O(state=started), O(start_action=start) and O(dpd_action=restart) need
        an IP address or DNS name).
      - Required unless O(state=absent).
    type: list
    elements: str
  local_id:
    description:
      - IKE identity of this side, for example its public IP address or C(pos-cloud.example.com).
      - Defaults to the single IP address in O(local_addrs); required when there is none.
    type: str
  remote_id:
    description:
      - IKE identity expected from the peer.
      - Defaults to the single IP address in O(remote_addrs); required when there is none. C(%any) is
        refused with a pre-shared key.
    type: str
  local_ts:
    description:
      - Local subnets of the tunnel in CIDR form. Host bits must be clear.
      - Required unless O(state=absent).
    type: list
    elements: str
  remote_ts:
    description:
      - Remote subnets of the tunnel in CIDR form. They must not overlap O(local_ts) nor the subnets of
        another connection loaded on the host.
      - Required unless O(state=absent).
    type: list
    elements: str
  auth:
    description:
      - How both ends authenticate.
      - V(psk) uses O(psk) and is the tested method.
      - V(certificate) renders C(auth = pubkey) with O(local_cert) and, optionally, O(remote_cacert). The
        certificate files and private key must already be in O(swanctl_dir) (C(x509/), C(x509ca/),
        C(private/)); this module does not manage them. This path is rendered and validated but has not
        been tested against a daemon.
    type: str
    choices: [psk, certificate]
    default: psk
  psk:
    description:
      - Pre-shared key, at least 20 characters. Required with O(auth=psk).
      - As in swanctl, a key starting with C(0x) is read as hex and one starting with C(0s) as base64.
      - Never shown in results, diffs or messages.
    type: str
  local_cert:
    description:
      - With O(auth=certificate), file name of this side's certificate in C(<swanctl_dir>/x509).
    type: str
  remote_cacert:
    description:
      - With O(auth=certificate), file name of the CA certificate in C(<swanctl_dir>/x509ca) the peer's
        certificate must chain to.
    type: str
  ike_version:
    description:
      - IKE major version. IKEv1 is refused unless O(allow_weak_crypto).
    type: int
    choices: [1, 2]
    default: 2
  ike_proposals:
    description:
      - IKE proposals in strongSwan syntax, most preferred first.
      - Weak algorithms (C(des), C(3des), C(md5), C(sha1), C(modp768), C(modp1024), C(modp1536),
        C(ecp192), ...) are refused unless O(allow_weak_crypto). Keywords are compared whole, so
        C(sha256) or C(prfsha384) are fine.
    type: list
    elements: str
    default: [aes256gcm16-prfsha384-ecp384, aes256gcm16-prfsha256-modp3072]
  esp_proposals:
    description:
      - ESP proposals in strongSwan syntax. Each must carry a DH group (perfect forward secrecy when
        rekeying) unless O(allow_weak_crypto).
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
      - What to do with the CHILD_SA when DPD finds the peer dead. V(restart) re-initiates, which needs
        a concrete O(remote_addrs) entry.
    type: str
    choices: [clear, trap, restart]
    default: clear
  start_action:
    description:
      - What charon does when it loads the connection (including after a daemon restart).
      - V(start) initiates at once and is what the initiating side should use.
      - V(trap) installs a trap policy that initiates on traffic. With the userspace C(kernel-libipsec)
        data path no route is installed for trap policies, so traffic does not trigger it there; use
        V(start) instead.
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
      - With O(state=started), when the settings changed while an IKE SA was up and charon kept that SA
        (it does for O(start_action=none)), terminate and re-initiate it so that the new settings apply.
      - Without it, or with another state, a warning says that the SA runs on the previous settings
        until it is re-established.
    type: bool
    default: true
  wait:
    description:
      - Wait until the CHILD_SA is INSTALLED, for at most O(wait_timeout) seconds, and fail otherwise
        with the daemon's log lines for this connection.
      - With O(state=started) the module initiates and waits for the result. With O(state=present) it
        waits for the peer to bring the tunnel up.
      - Without it, O(state=started) starts the initiation and returns; a failure is a warning.
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
      - Seconds to wait for another run that holds the lock on O(swanctl_dir) before failing with a
        message that says so, from 0 (fail at once) to 86400.
    type: int
    default: 300
  swanctl_dir:
    description:
      - strongSwan's swanctl folder. Its C(swanctl.conf) must include C(conf.d/*.conf) (the packaged one
        does); when it is missing, one with just that include is created.
    type: path
    default: /etc/swanctl
  log_path:
    description:
      - Charon's file log (a C(charon.filelog) or C(charon-systemd.filelog) target), read for the lines of
        this connection when O(wait) fails. C(ike_name = yes) in the filelog settings makes the lines
        easy to attribute.
      - Without it, the output of C(swanctl --initiate) is used, and while waiting for the peer the
        module follows charon's log events on the vici socket (like C(swanctl --log)) and keeps the
        lines of this connection. With O(container) the socket is inside the container, so give O(log_path)
        there to have the daemon's lines in a failure.
    type: path
  container:
    description:
      - Manage the charon of this container instead of the target's own. The module runs on the host of
        the container's Docker engine; every command (C(swanctl) included) runs with
        C(docker exec <container>), and every file is read and written inside the container through it
        (written atomically - a temporary file next to the target, with its mode set before it has content,
        then renamed over it - and under C(flock) on O(swanctl_dir)).
      - The paths options (O(swanctl_dir), O(log_path), O(charon)) are paths inside the container;
        O(swanctl_path) is the program inside it (C(swanctl) on its C(PATH) when not given).
      - For a cloud host that runs the POS instances of many stores, reached over SSH - no Docker
        connection from the controller is needed.
      - The Docker client's options (O(docker_host), O(docker_cli), O(docker_timeout)) and the C(docker)
        client among the requirements apply only with O(container).
    type: str
    version_added: 0.3.0
notes:
  - With a pre-shared key the responder picks the connection by the identities in IKE_AUTH. Two
    connections on one host with the same pair of identities are refused, because the responder would
    select the first one for both.
  - The established SAs keep the proposals negotiated when they were set up; a change of proposals
    applies at the next re-establishment (see O(restart_on_change)).
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
- name: All of a store's tunnels in one call, with charon's data path and log, up and reported
  poscloud.fleet.ipsec_tunnel:
    tunnels:
      - name: phonehome
        local_id: cloud-0042
        remote_id: router-0042
        local_ts: [10.201.0.0/24]
        remote_ts: [10.42.0.0/24]
      - name: backoffice
        local_id: cloud-0042-bo
        remote_id: router-0042-bo
        local_ts: [10.201.0.222/32]
        remote_ts: [10.142.0.0/24]
    local_addrs: [198.51.100.10]
    remote_addrs: [203.0.113.42]
    psk: "{{ vault_store_psk['0042'] }}"
    start_action: start
    dpd_action: restart
    state: started
    wait: true
    log_path: /var/log/charon.log
    charon:
      datapath: auto
      filelog: /var/log/charon.log
  register: store42
  # store42.tunnels: the status of both, as ipsec_tunnel_info returns it

- name: The same, run on the cloud host for the store's POS instance container
  poscloud.fleet.ipsec_tunnel:
    container: pos_0042
    tunnels: "{{ store_tunnels }}"
    local_addrs: [198.51.100.10]
    remote_addrs: [203.0.113.42]
    psk: "{{ vault_store_psk['0042'] }}"
    state: started
    wait: true

# The tasks of this block take store 42's tunnel from module_defaults: its name and key, the cloud
# side's address, identity and subnet, and the same of the store's router.
- name: Tunnel from the cloud POS instance to store 42's router
  module_defaults:
    poscloud.fleet.ipsec_tunnel:
      name: store-0042
      psk: "{{ vault_store_psk['0042'] }}"
      local_addrs: [198.51.100.10]
      local_id: pos-cloud.example.com
      local_ts: [10.201.0.0/24]
      remote_addrs: [203.0.113.42]
      remote_id: store-0042.example.com
      remote_ts: [10.42.0.0/24]
  block:
    - name: Bring it up, initiated by the cloud side
      poscloud.fleet.ipsec_tunnel:
        start_action: start
        dpd_action: restart
        state: started
        wait: true
        wait_timeout: 45

    - name: What would a second subnet of the store change? (check mode with a diff; the key shows as <redacted>)
      poscloud.fleet.ipsec_tunnel:
        remote_ts: [10.42.0.0/24, 10.142.0.0/24]
      check_mode: true
      diff: true

    - name: Take the tunnel down, keeping its configuration
      poscloud.fleet.ipsec_tunnel:
        state: stopped

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
tunnels:
  description:
    - With O(tunnels), the status of each tunnel of the set after the run (in check mode, before it),
      sorted by name, as M(poscloud.fleet.ipsec_tunnel_info) returns it in its C(tunnels).
  returned: with O(tunnels), when the daemon could be reached
  type: list
  elements: dict
  version_added: 0.3.0
results:
  description: With O(tunnels), per tunnel - C(name), C(conf_path), C(secrets_path), C(tunnel) and C(drift) as for one tunnel.
  returned: with O(tunnels), unless O(state=absent)
  type: list
  elements: dict
  version_added: 0.3.0
charon:
  description: With O(charon), the data path selected (C(datapath)) and whether charon was restarted (C(restarted)).
  returned: with O(tunnels) and O(charon)
  type: dict
  sample: {datapath: libipsec, restarted: false}
  version_added: 0.3.0
failed_tunnels:
  description: With O(tunnels), the tunnels that did not come up.
  returned: on failure
  type: list
  elements: str
  version_added: 0.3.0
peer_refusals:
  description: With O(tunnels), the peer's refusal (as C(peer_refusal)) of each tunnel that did not come up.
  returned: on failure, when the log names a refusal
  type: dict
  version_added: 0.3.0
logs:
  description: With O(tunnels), the daemon's log lines (as C(log)) of each tunnel that did not come up.
  returned: on failure
  type: dict
  version_added: 0.3.0
swanctl_missing:
  description: True when the task failed because there is no swanctl to run (strongSwan is not installed).
  returned: on that failure
  type: bool
  version_added: 0.3.0
name:
  description: The tunnel's name.
  returned: without O(tunnels)
  type: str
  sample: store-0042
state:
  description: The requested state.
  returned: always
  type: str
  sample: started
conf_path:
  description: The connection file.
  returned: without O(tunnels)
  type: str
  sample: /etc/swanctl/conf.d/store-0042.conf
secrets_path:
  description: The secrets file (mode 0600).
  returned: without O(tunnels)
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
  returned: unless O(state=absent)
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
  returned: when O(wait) failed or an initiation failed
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

import os
import time

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.poscloud.fleet.plugins.module_utils.docker_cli import docker_argument_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.ike_log import peer_refusal
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.charon import (
    DATAPATHS, ESP_PROBE, ESP_SIGNS, RESTART, datapath_conf, esp_loaded, filelog_conf, same_settings)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.constants import (
    AUTH_METHODS, DEFAULT_AUTH, DEFAULT_DPD_ACTION, DEFAULT_DPD_DELAY, DEFAULT_ESP_PROPOSALS, DEFAULT_IKE_PROPOSALS,
    DEFAULT_IKE_VERSION, DEFAULT_LOCAL_ADDRS, DEFAULT_START_ACTION, DPD_ACTIONS, IKE_VERSIONS, REDACTED, START_ACTIONS,
    SwanctlError)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.host import (
    HostError, LockTimeout, make_host, make_swanctl)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.log import filter_log_events, filter_log_lines
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.render import (
    conf_path, redact_secrets, render_conf, render_secrets, secret_of, secrets_path)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.runner import (
    COMMAND_TIMEOUT, DaemonError, clean_output, swanctl_argument_spec)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.status import (
    child_installed, loaded_conn_drift, other_tunnels, sas_for, tunnel_status)
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.syntax import load_problems, settings_syntax_errors
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.validate import validate_name, validate_spec
from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.vici import ViciLogTap

SPEC_KEYS = ('name', 'local_addrs', 'remote_addrs', 'local_id', 'remote_id', 'local_ts', 'remote_ts', 'auth',
             'psk', 'local_cert', 'remote_cacert', 'ike_version', 'ike_proposals', 'esp_proposals', 'dpd_delay',
             'dpd_action', 'start_action', 'allow_weak_crypto')
CONF_MODE = 0o644
SECRETS_MODE = 0o600
LOG_LINES = 60
# seconds between two looks at the SAs while waiting for a CHILD_SA, and at charon while it starts
POLL = 0.2


# what to do when a swanctl query fails after the module has started to act
QUERY_FIX = ('check that charon runs and answers on vici_uri (swanctl --stats), then run the task again: '
             'it carries on from what is in place')


class Failed(Exception):
    """A tunnel of a set failed: the set goes on with the others and fails at the end."""

    def __init__(self, msg, extra):
        super(Failed, self).__init__(msg)
        self.msg = msg
        self.extra = extra


def scrub(value, secrets):
    """``value`` (text, list or dict) with every pre-shared key replaced, before it leaves the module."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, '********')
        return value
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, dict):
        return dict((k, scrub(v, secrets)) for k, v in value.items())
    return value


def missing_swanctl(error):
    """Whether a failed swanctl query says that there is no swanctl to run (docker exec's words)."""
    text = to_native(error)
    return 'executable file not found' in text or 'rc=127' in text or 'rc=126' in text


class Tunnel(object):
    """One tunnel. Alone (the name option) it locks, reads, applies and reports itself; in a set
    (the tunnels option) the set does what concerns the whole host once and calls its phases."""

    def __init__(self, module, params=None, host=None, swanctl=None, actions=None, in_set=False):
        self.module = module
        p = params or module.params
        self.p = p
        self.name = p['name']
        self.dir = p['swanctl_dir'].rstrip('/') or '/'
        self.confd = os.path.join(self.dir, 'conf.d')
        self.conf_path = conf_path(self.dir, self.name)
        self.secrets_path = secrets_path(self.dir, self.name)
        self.in_set = in_set
        self.host = host or make_host(module)
        self.swanctl = swanctl or make_swanctl(module, self.host, self.dir, self.fail)
        self.actions = [] if actions is None else actions
        self.result = {
            'changed': False,
            'name': self.name,
            'state': p['state'],
            'conf_path': self.conf_path,
            'secrets_path': self.secrets_path,
            'actions': self.actions,
        }
        self.psk = p.get('psk')
        self.log_offset = None
        self.spec = None
        self.daemon_ok = True
        self.files = []
        self.old = {}
        self.need_load = False
        self.cache = {}

    # -- helpers ---------------------------------------------------------------------------------
    def fail(self, msg, **kwargs):
        if self.in_set:
            raise Failed(msg, kwargs)
        self.host.unlock()
        result = dict(self.result, **kwargs)
        result.pop('changed', None)
        self.module.fail_json(msg=scrub(msg, [self.psk]), changed=self.result['changed'],
                              **scrub(result, [self.psk]))

    def done(self):
        self.host.unlock()
        self.module.exit_json(**scrub(self.result, [self.psk]))

    def io(self, call, *args):
        """A file operation on the host; its failure fails the tunnel with the reason."""
        try:
            return call(*args)
        except HostError as e:
            self.fail(to_native(e))

    def read(self, path):
        if path not in self.cache:
            self.cache.update(self.io(self.host.read_many, [path]))
        return self.cache[path][0]

    def mode(self, path):
        self.read(path)
        return self.cache[path][1]

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

    def act(self, what, own=False):
        """Record an action (``own``: one of this tunnel's, named after it in a set)."""
        self.actions.append('%s %s' % (what, self.name) if own and self.in_set else what)
        self.result['changed'] = True

    def lock(self, read=()):
        """Take the lock on the swanctl folder, waiting at most lock_timeout seconds for another run, and
        read the files of ``read`` under it (kept for read())."""
        try:
            self.cache.update(self.host.lock([self.confd, self.dir], self.p['lock_timeout'], read))
        except LockTimeout as e:
            self.fail('another run changing tunnels holds the lock on %s and did not release it within '
                      '%d s (lock_timeout); wait for it to finish, or raise lock_timeout'
                      % (to_native(e), self.p['lock_timeout']))
        except HostError as e:
            self.fail(to_native(e))

    def write_file(self, path, content, mode):
        # the file has exactly its mode from its first moment: a secrets file is never readable by
        # others, not even while it is written
        self.io(self.host.write, path, content, mode)

    def remove_file(self, path):
        self.io(self.host.remove, path)

    def mark_log(self):
        if self.p['log_path']:
            self.log_offset = self.host.size(self.p['log_path']) or 0

    def file_log_lines(self):
        path = self.p['log_path']
        if not path:
            return []
        offset = self.log_offset or 0
        size = self.host.size(path)
        if size is None:
            return []
        if size < offset:
            offset = 0
        lines = self.host.tail(path, offset).splitlines()
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
    def check_tree(self, own=None):
        """Fail, before anything is written or loaded, when any file swanctl reads has a syntax error.

        swanctl does not stop at one: --load-conns then unloads every connection of the host.
        """
        main = os.path.join(self.dir, 'swanctl.conf')
        own = own or (self.conf_path, self.secrets_path)

        def read(path):
            if path in own:
                return None
            text = self.read(path)
            if path == main and text is None:
                return 'include conf.d/*.conf\n'
            return text

        def glob(pattern):
            return self.io(self.host.glob, pattern)

        errors = settings_syntax_errors(main, read, glob)
        if errors:
            self.fail('the swanctl configuration under %s has a syntax error, and loading it would unload every '
                      'connection of the host; fix it first: %s' % (self.dir, '; '.join(errors)), errors=errors)

    def load(self, restore=None, names=None):
        """Load credentials and connections; on failure restore the previous files and fail."""
        failures = []
        names = names or {self.name: bool(self.spec and self.spec.get('psk'))}
        for what in ('creds', 'conns'):
            rc, out, err = self.swanctl.load(what)
            self.actions.append('load-%s' % what)
            text = clean_output(out + '\n' + err)
            fatal = []
            for name, secret in sorted(names.items()):
                problems, warnings = load_problems(name, what, rc, text, secret_expected=secret)
                fatal += [f for f in problems if f not in fatal]
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
                failures.append('the previous files of %s were restored and reloaded' % ', '.join(sorted(names)))
            self.fail('; '.join(failures))

    def ensure_swanctl_conf(self):
        main = os.path.join(self.dir, 'swanctl.conf')
        content = self.read(main)
        if content is not None:
            if 'conf.d' not in content:
                self.module.warn('%s does not seem to include conf.d/*.conf; the tunnel files may not be loaded'
                                 % main)
            return
        self.act('create %s' % main)
        if not self.module.check_mode:
            self.write_file(main, '# Created by poscloud.fleet.ipsec_tunnel\ninclude conf.d/*.conf\n', CONF_MODE)

    def ensure_confd(self):
        if self.mode(self.confd) == 'dir':
            return
        self.act('create %s' % self.confd)
        if not self.module.check_mode:
            self.io(self.host.makedirs, self.confd)

    def validate(self, conns, others=None):
        """The normalised spec (also kept), checked against the other connections of the host."""
        spec_in = dict((k, self.p.get(k)) for k in SPEC_KEYS)
        try:
            spec, warnings = validate_spec(spec_in, others=other_tunnels(conns, self.name) if others is None else others)
        except SwanctlError as e:
            self.fail('invalid tunnel %s: %s' % (self.name, e), errors=e.errors)
        if self.p['state'] == 'started' and not [a for a in spec['remote_addrs'] if not a.startswith('%') and '/' not in a]:
            self.fail('state: started initiates the tunnel from this side, which needs a concrete remote_addrs entry '
                      '(an IP address or DNS name), not %s; use state=present on a responder'
                      % ', '.join(spec['remote_addrs']))
        self.spec = spec
        self.result['tunnel'] = dict((k, v) for k, v in spec.items() if k != 'psk')
        return spec, warnings

    def plan(self, conns):
        """What differs: the files to write (self.files), the diff, the drift; whether to load."""
        spec = self.spec
        conf_new = render_conf(spec)
        secrets_new = render_secrets(spec)
        conf_old = self.read(self.conf_path)
        secrets_old = self.read(self.secrets_path)
        self.old = {self.conf_path: conf_old, self.secrets_path: secrets_old}
        files = []
        if conf_old != conf_new or (conf_old is not None and self.mode(self.conf_path) != CONF_MODE):
            files.append((self.conf_path, conf_new, CONF_MODE))
        if secrets_new is None:
            if secrets_old is not None:
                files.append((self.secrets_path, None, None))
        elif secrets_old != secrets_new or self.mode(self.secrets_path) != SECRETS_MODE:
            files.append((self.secrets_path, secrets_new, SECRETS_MODE))
        self.files = files

        marker = REDACTED
        if secrets_old is not None and secrets_new is not None and secret_of(secrets_old) != secret_of(secrets_new):
            marker = '<redacted, changed>'
        self.result['diff'] = [
            {'before_header': self.conf_path, 'after_header': self.conf_path,
             'before': conf_old or '', 'after': conf_new},
            {'before_header': self.secrets_path, 'after_header': self.secrets_path,
             'before': redact_secrets(secrets_old) or '', 'after': redact_secrets(secrets_new, marker) or ''},
        ]
        drift = loaded_conn_drift(spec, conns.get(self.name)) if self.daemon_ok else []
        if drift and not files:
            self.result['drift'] = drift
        self.need_load = bool(files) or bool(drift)

    def write(self):
        """Write (or remove) the files that differ; returns what restores the previous ones."""
        restore = []
        for path, content, mode in self.files:
            restore.append((path, self.old.get(path), CONF_MODE if path == self.conf_path else SECRETS_MODE))
            self.act(('remove %s' if content is None else 'write %s') % os.path.relpath(path, self.dir))
            if not self.module.check_mode:
                if content is None:
                    self.remove_file(path)
                else:
                    self.write_file(path, content, mode)
        return restore

    def own_paths(self):
        """The files a run of this tunnel reads: read at once, under the lock."""
        return [os.path.join(self.dir, 'swanctl.conf'), self.confd, self.conf_path, self.secrets_path]

    def present(self):
        self.lock(read=self.own_paths())
        # Reading the loaded connections changes nothing; they are needed to check this tunnel's
        # subnets and identities against the other tunnels, and all input errors are reported at once.
        conns = {}
        daemon_error = None
        try:
            conns = self.swanctl.list_conns()
        except DaemonError as e:
            self.daemon_ok = False
            daemon_error = to_native(e)
        dummy, warnings = self.validate(conns)
        if not self.daemon_ok:
            if not self.module.check_mode:
                self.fail('cannot talk to charon: %s. Is the strongSwan daemon running, and is vici_uri right?'
                          % daemon_error)
            self.module.warn('cannot talk to charon, so the check covers the files only: %s' % daemon_error)
        for warning in warnings:
            self.module.warn(warning)

        self.mark_log()
        self.ensure_confd()
        self.ensure_swanctl_conf()
        self.plan(conns)
        sas_before = self.list_sas() if self.daemon_ok else []

        if self.need_load:
            self.check_tree()
            restore = self.write()
            if self.module.check_mode:
                self.act('load-creds')
                self.act('load-conns')
            else:
                self.result['changed'] = True
                self.load(restore)

        if not self.daemon_ok:
            return
        self.converge(sas_before)

    def converge(self, sas_before):
        """Bring the loaded tunnel to its state: initiate, wait, terminate."""
        state = self.p['state']
        # An SA that was up before the connection's settings changed and that charon kept (it does
        # with start_action=none) runs on the old settings. A new key alone does not matter to an
        # established SA: it is used at the next authentication.
        kept = []
        conf_changed = any(path == self.conf_path for path, _content, _mode in self.files)
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
        reread = self.need_load and not self.module.check_mode
        if state == 'started':
            sas = self.list_sas() if reread else sas_before
            if child_installed(sas, self.name):
                return
            if busy(sas):
                # charon is already at it (start_action=start after a load, or an earlier initiation):
                # a second initiation would make a duplicate IKE SA.
                self.actions.append('wait for the initiation under way' + (' of %s' % self.name if self.in_set else ''))
                if not self.module.check_mode:
                    self.wait_installed(self.p['wait_timeout'] if self.p['wait'] else 0,
                                        'the initiation under way did not bring tunnel %s up' % self.name,
                                        required=self.p['wait'])
                return
            self.initiate()
        elif state == 'stopped':
            sas = self.list_sas() if reread else sas_before
            if sas:
                self.terminate()
        elif state == 'present' and self.p['wait'] and not self.module.check_mode:
            self.wait_installed(self.p['wait_timeout'], 'tunnel %s was not brought up by the peer' % self.name)

    def initiate(self):
        self.act('initiate', own=True)
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
            if not self.in_set:
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
        self.act('terminate' if ike_id is None else 'terminate IKE SA #%s' % ike_id, own=ike_id is None)
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
        if not self.p['log_path'] and limit > 0 and not self.host.prefix:
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
                time.sleep(POLL)
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
        if not self.in_set:
            self.status()
        self.fail('%s within %ds%s%s' % (failure, limit, refusal,
                                         summary(log) or '; no log lines of this connection were seen'))

    def absent_files(self):
        """Remove this tunnel's files; whether it had any."""
        conf_old = self.read(self.conf_path)
        secrets_old = self.read(self.secrets_path)
        self.result['diff'] = [
            {'before_header': self.conf_path, 'after_header': self.conf_path, 'before': conf_old or '', 'after': ''},
            {'before_header': self.secrets_path, 'after_header': self.secrets_path,
             'before': redact_secrets(secrets_old) or '', 'after': ''},
        ]
        for path, old in ((self.conf_path, conf_old), (self.secrets_path, secrets_old)):
            if old is not None:
                self.act('remove %s' % os.path.relpath(path, self.dir))
                if not self.module.check_mode:
                    self.remove_file(path)
        return conf_old is not None or secrets_old is not None

    def absent(self):
        try:
            validate_name(self.name)
        except SwanctlError as e:
            self.fail(to_native(e), errors=e.errors)
        self.lock(read=self.own_paths())
        conns = {}
        sas = []
        try:
            conns = self.swanctl.list_conns()
            sas = self.swanctl.list_sas(self.name)
        except DaemonError as e:
            self.daemon_ok = False
            self.module.warn('cannot talk to charon, only the files are removed: %s' % to_native(e))
        had_files = self.read(self.conf_path) is not None or self.read(self.secrets_path) is not None
        if self.daemon_ok and (had_files or self.name in conns):
            self.check_tree()
        self.absent_files()
        if self.daemon_ok and (had_files or self.name in conns):
            if self.module.check_mode:
                self.act('load-creds')
                self.act('load-conns')
            else:
                if not had_files:
                    self.result['changed'] = True
                self.load()
                if self.name in self.list_conns():
                    self.module.warn('connection %s is still loaded after --load-conns: it is defined in another '
                                     'file under %s' % (self.name, self.dir))
        if self.daemon_ok and sas:
            self.terminate()


class TunnelSet(object):
    """All the tunnels of a host (the tunnels option) in one run: one lock, one read of the files,
    charon's settings (restarting charon only when they change), one load, the initiations, one wait
    and one status."""

    def __init__(self, module):
        self.module = module
        p = module.params
        self.p = p
        self.dir = p['swanctl_dir'].rstrip('/') or '/'
        self.host = make_host(module)
        self.swanctl = make_swanctl(module, self.host, self.dir, self.fail)
        self.actions = []
        self.result = {'changed': False, 'state': p['state'], 'actions': self.actions}
        self.secrets = [p.get('psk')] + [t.get('psk') for t in p['tunnels']]
        names = [t['name'] for t in p['tunnels']]
        twice = sorted(set(n for n in names if names.count(n) > 1))
        if not names or twice:
            module.fail_json(msg='tunnels: give each tunnel a name of its own (%s)'
                                 % ('twice: ' + ', '.join(twice) if twice else 'the list is empty'))
        defaults = dict((k, v) for k, v in p.items() if k not in ('tunnels', 'name'))
        self.tunnels = []
        for entry in p['tunnels']:
            params = dict(defaults)
            params.update((k, v) for k, v in entry.items() if v is not None)
            self.tunnels.append(Tunnel(module, params, self.host, self.swanctl, self.actions, in_set=True))
        self.lead = self.tunnels[0]
        self.cache = {}
        self.daemon_ok = True

    def fail(self, msg, **kwargs):
        self.host.unlock()
        result = dict(self.result, **kwargs)
        result.pop('changed', None)
        self.module.fail_json(msg=scrub(msg, self.secrets), changed=self.changed(), **scrub(result, self.secrets))

    def changed(self):
        return self.result['changed'] or any(t.result['changed'] for t in self.tunnels)

    def done(self):
        self.host.unlock()
        self.result['changed'] = self.changed()
        self.module.exit_json(**scrub(self.result, self.secrets))

    def run(self):
        try:
            self.read_files()
            self.apply_charon_settings()
            conns = self.wait_for_charon()
            if self.p['state'] == 'absent':
                self.absent(conns)
            else:
                self.present(conns)
        except Failed as e:
            self.fail(e.msg, **e.extra)

    def read_files(self):
        """Take the lock and read every file the run may change, in one go."""
        c = self.p['charon'] or {}
        settings = c.get('settings_dir') or '/etc/strongswan.d'
        self.settings = []
        if c.get('datapath'):
            self.settings.append(('datapath', os.path.join(settings, 'charon', 'kernel-libipsec.conf')))
        if c.get('filelog'):
            self.settings.append(('filelog', os.path.join(settings, 'charon-logging.conf')))
        paths = self.lead.own_paths()[:2] + [path for t in self.tunnels for path in (t.conf_path, t.secrets_path)]
        paths += [path for dummy, path in self.settings]
        if c.get('datapath') == 'auto':
            paths += [sign for sign in ESP_SIGNS if sign not in paths]
        self.lead.cache = self.cache
        self.lead.lock(read=paths)
        for t in self.tunnels:
            t.cache = self.cache

    def apply_charon_settings(self):
        """Write charon's settings that differ; restart charon when one did."""
        if not self.settings:
            return
        c = self.p['charon']
        info = {'restarted': False}
        diff = []
        changed = []
        for what, path in self.settings:
            if what == 'datapath':
                datapath = c['datapath']
                if datapath == 'auto':
                    datapath = self.esp_datapath(self.cache[path][0])
                info['datapath'] = datapath
                text = datapath_conf(datapath)
            else:
                text = filelog_conf(c['filelog'])
            old = self.cache[path][0]
            diff.append({'before_header': path, 'after_header': path, 'before': old or '', 'after': text})
            if not same_settings(old, text):
                changed.append((path, text))
        self.result['charon'] = info
        self.result['diff'] = diff
        for path, text in changed:
            self.lead.act('write %s' % path)
            if not self.module.check_mode:
                self.lead.write_file(path, text, CONF_MODE)
        if not changed:
            return
        self.lead.act('restart charon')
        if self.module.check_mode:
            return
        rc, out, err = self.lead.io(self.host.run, RESTART)
        if rc != 0:
            self.fail('charon was not restarted on %s for its new settings (rc=%d): %s'
                      % (self.host.where, rc, clean_output(out + '\n' + err) or 'no output'))
        info['restarted'] = True

    def esp_datapath(self, current):
        """``auto``: kernel when the kernel has ESP support, else libipsec. ESP loaded (read with the
        files) decides at once; otherwise the probe, which tries to load it, runs unless libipsec was
        already chosen (an earlier probe tried that)."""
        if esp_loaded(self.cache, ESP_SIGNS):
            return 'kernel'
        if same_settings(current, datapath_conf('libipsec')):
            return 'libipsec'
        rc = self.lead.io(self.host.run, ESP_PROBE)[0]
        return 'kernel' if rc == 0 else 'libipsec'

    def wait_for_charon(self):
        """The loaded connections, once charon answers (it may be starting); {} in check mode without it."""
        limit = (self.p['charon'] or {}).get('wait_timeout', 30)
        deadline = time.time() + limit
        while True:
            try:
                return self.swanctl.list_conns()
            except DaemonError as e:
                if missing_swanctl(e):
                    self.fail('swanctl was not found in %s: install strongSwan there (strongswan-swanctl and '
                              'charon-systemd) or give swanctl_path: %s' % (self.host.where, to_native(e)),
                              swanctl_missing=True)
                error = to_native(e)
            if self.module.check_mode:
                self.daemon_ok = False
                for t in self.tunnels:
                    t.daemon_ok = False
                self.module.warn('cannot talk to charon, so the check covers the files only: %s' % error)
                return {}
            if time.time() >= deadline:
                self.fail('charon did not answer within %d s: %s. Is the strongSwan daemon running, and is vici_uri '
                          'right?' % (limit, error))
            time.sleep(POLL)

    def validate(self, conns):
        """Every tunnel checked, against the host's other connections and each other; all errors at once."""
        names = set(t.name for t in self.tunnels)
        loaded = [o for o in other_tunnels(conns, None) if o['name'] not in names]
        errors = []
        warnings = []
        for t in self.tunnels:
            try:
                warnings += [w for w in t.validate(conns, others=loaded)[1] if w not in warnings]
            except Failed as e:
                errors.append((e.msg, e.extra.get('errors') or [e.msg]))
        if not errors:
            siblings = [{'name': t.name, 'local_ts': t.spec['local_ts'], 'remote_ts': t.spec['remote_ts'],
                         'local_ids': [t.spec['local_id']], 'remote_ids': [t.spec['remote_id']]} for t in self.tunnels]
            for t in self.tunnels:
                try:
                    t.validate(conns, others=loaded + siblings)
                except Failed as e:
                    errors.append((e.msg, e.extra.get('errors') or [e.msg]))
        if errors:
            self.fail('; '.join(msg for msg, dummy in errors), errors=[err for dummy, errs in errors for err in errs])
        for warning in warnings:
            self.module.warn(warning)

    def load(self, restore):
        if self.module.check_mode:
            self.lead.act('load-creds')
            self.lead.act('load-conns')
            return
        self.result['changed'] = True
        self.lead.load(restore, names=dict((t.name, bool(t.spec and t.spec.get('psk'))) for t in self.tunnels))

    def present(self, conns):
        self.validate(conns)
        offset = self.host.size(self.p['log_path']) or 0 if self.p['log_path'] else None
        for t in self.tunnels:
            t.log_offset = offset
        self.lead.ensure_confd()
        self.lead.ensure_swanctl_conf()
        for t in self.tunnels:
            t.plan(conns)
        sas_before = self.query(self.swanctl.list_sas) if self.daemon_ok else []
        loaded = False
        if any(t.need_load for t in self.tunnels):
            self.lead.check_tree(own=[path for t in self.tunnels for path in (t.conf_path, t.secrets_path)])
            restore = []
            for t in self.tunnels:
                restore += t.write()
            self.load(restore)
            loaded = True
        self.result['diff'] = self.result.get('diff', []) + [d for t in self.tunnels for d in t.result['diff']]
        kept = ('name', 'conf_path', 'secrets_path', 'drift', 'tunnel')
        self.result['results'] = [dict((k, v) for k, v in t.result.items() if k in kept) for t in self.tunnels]
        if not self.daemon_ok:
            return
        failures = []
        for t in self.tunnels:
            try:
                t.converge(sas_for(sas_before, t.name))
            except Failed as e:
                failures.append((t, e))
        acted = loaded or any(a.startswith(('initiate', 'terminate', 'wait')) for a in self.actions)
        self.report(sas_before if not acted or self.module.check_mode else None, conns if not loaded else None)
        if failures:
            self.fail('; '.join(e.msg for dummy, e in failures),
                      failed_tunnels=[t.name for t, dummy in failures],
                      peer_refusal=next((t.result['peer_refusal'] for t, dummy in failures
                                         if t.result.get('peer_refusal')), None),
                      peer_refusals=dict((t.name, t.result['peer_refusal']) for t, dummy in failures
                                         if t.result.get('peer_refusal')),
                      logs=dict((t.name, t.result.get('log') or []) for t, dummy in failures))

    def absent(self, conns):
        for t in self.tunnels:
            try:
                validate_name(t.name)
            except SwanctlError as e:
                self.fail(to_native(e), errors=e.errors)
        sas = self.query(self.swanctl.list_sas) if self.daemon_ok else []
        names = set(t.name for t in self.tunnels)
        had = [t for t in self.tunnels if self.cache[t.conf_path][0] is not None
               or self.cache[t.secrets_path][0] is not None or t.name in conns]
        if self.daemon_ok and had:
            self.lead.check_tree(own=[path for t in self.tunnels for path in (t.conf_path, t.secrets_path)])
        for t in self.tunnels:
            t.absent_files()
        self.result['diff'] = [d for t in self.tunnels for d in t.result['diff']]
        if self.daemon_ok and had:
            self.load(None)
            if not self.module.check_mode:
                still = sorted(names & set(self.query(self.swanctl.list_conns)))
                if still:
                    self.module.warn('connections %s are still loaded after --load-conns: they are defined in other '
                                     'files under %s' % (', '.join(still), self.dir))
        for t in self.tunnels:
            if self.daemon_ok and sas_for(sas, t.name):
                t.terminate()
        if self.daemon_ok:
            self.report(None, None)

    def query(self, call):
        try:
            return call()
        except DaemonError as e:
            self.fail('cannot read the state of charon: %s; %s' % (to_native(e), QUERY_FIX))

    def report(self, sas, conns):
        """The status of every tunnel of the set, as ipsec_tunnel_info returns it (read again when the
        run changed something)."""
        try:
            sas = self.swanctl.list_sas() if sas is None else sas
            conns = self.swanctl.list_conns() if conns is None else conns
        except DaemonError as e:
            self.module.warn('could not read the tunnel status: %s' % to_native(e))
            return
        self.result['tunnels'] = [tunnel_status(t.name, sas, conns.get(t.name))
                                  for t in sorted(self.tunnels, key=lambda t: t.name)]


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


def tunnel_options():
    """The options of one tunnel, without defaults: an entry of tunnels takes what it does not give
    from the options of the same name."""
    return dict(
        name=dict(type='str', required=True),
        local_addrs=dict(type='list', elements='str'),
        remote_addrs=dict(type='list', elements='str'),
        local_id=dict(type='str'),
        remote_id=dict(type='str'),
        local_ts=dict(type='list', elements='str'),
        remote_ts=dict(type='list', elements='str'),
        auth=dict(type='str', choices=list(AUTH_METHODS)),
        psk=dict(type='str', no_log=True),
        local_cert=dict(type='str'),
        remote_cacert=dict(type='str'),
        ike_version=dict(type='int', choices=list(IKE_VERSIONS)),
        ike_proposals=dict(type='list', elements='str'),
        esp_proposals=dict(type='list', elements='str'),
        dpd_delay=dict(type='int'),
        dpd_action=dict(type='str', choices=list(DPD_ACTIONS)),
        start_action=dict(type='str', choices=list(START_ACTIONS)),
        allow_weak_crypto=dict(type='bool'),
    )


CHARON_OPTIONS = dict(
    datapath=dict(type='str', choices=list(DATAPATHS)),
    filelog=dict(type='path'),
    settings_dir=dict(type='path', default='/etc/strongswan.d'),
    wait_timeout=dict(type='int', default=30),
)


def make_module(argument_spec, **kwargs):
    try:
        return fleet_module(argument_spec, **kwargs)
    except TypeError:
        # ansible-core checks a dict's suboptions even when the value is not a dict and fails with
        # a TypeError; without them it refuses such a value in a message naming the option.
        argument_spec['charon'] = dict(type='dict')
        return fleet_module(argument_spec, **kwargs)


def main():
    module = make_module(dict(
        name=dict(type='str'),
        tunnels=dict(type='list', elements='dict', options=tunnel_options()),
        charon=dict(type='dict', options=CHARON_OPTIONS),
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
        log_path=dict(type='path'),
        container=dict(type='str'),
        **dict(swanctl_argument_spec(), **docker_argument_spec())
    ), mutually_exclusive=[('name', 'tunnels')], required_one_of=[('name', 'tunnels')])
    if module.params['name'] is not None:
        try:
            validate_name(module.params['name'])
        except SwanctlError as e:
            module.fail_json(msg=to_native(e))
    if not 1 <= module.params['wait_timeout'] <= 3600:
        module.fail_json(msg='wait_timeout: %d is out of range; use 1 to 3600 seconds' % module.params['wait_timeout'])
    if not 0 <= module.params['lock_timeout'] <= 86400:
        module.fail_json(msg='lock_timeout: %d is out of range; use 0 to 86400 seconds' % module.params['lock_timeout'])
    if module.params['tunnels'] is not None:
        tunnels = TunnelSet(module)
        tunnels.run()
        tunnels.done()
    if module.params['charon']:
        module.fail_json(msg='charon: the charon settings go with tunnels, the whole set of the host\'s tunnels')
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
