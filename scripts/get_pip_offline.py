"""Stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test runs this file as ``python get_pip_<version>.py [pip options] pip==X ...`` inside a
fresh virtual environment. With no route to the download site, install pip from the
interpreter's own ensurepip, then let that pip install the requested packages from the package
index the machine is configured for.
"""
import subprocess
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')

args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
