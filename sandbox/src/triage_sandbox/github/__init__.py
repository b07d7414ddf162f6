"""The GitHub REST v3 stand-in, one module per resource family (`github_api.py` builds the
app). Payloads are GitHub's own shapes with absolute URLs under the caller's base, so the
real PyGithub client follows them back here."""
