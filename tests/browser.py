"""Headless Chromium (Debian's package, installed by make setup) for the tests of HTML reports: the
page as a browser shows it, after its scripts ran, and a screenshot."""
import os
import shutil
import subprocess

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--hide-scrollbars', '--virtual-time-budget=2000']


def chromium():
    path = shutil.which('chromium') or shutil.which('chromium-browser')
    assert path, 'chromium is not installed: make setup installs it (scripts/setup.sh)'
    return path


def render(url, profile_dir, screenshot=None, size='1920,1000'):
    """The DOM of the page at url after its scripts ran; with screenshot, a PNG of it there too."""
    os.makedirs(profile_dir, exist_ok=True)
    base = [chromium()] + FLAGS + ['--user-data-dir=%s' % profile_dir, '--window-size=%s' % size]
    if screenshot:
        os.makedirs(os.path.dirname(screenshot), exist_ok=True)
        proc = subprocess.run(base + ['--screenshot=%s' % screenshot, url], capture_output=True, text=True,
                              timeout=120, check=False)
        assert proc.returncode == 0 and os.path.getsize(screenshot) > 10000, proc.stderr[-2000:]
    proc = subprocess.run(base + ['--dump-dom', url], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and '<table' in proc.stdout, proc.stderr[-2000:]
    return proc.stdout
