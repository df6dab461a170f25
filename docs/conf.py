"""Sphinx configuration: the API reference from the docstrings, the guides as Markdown.

Built the way scikit-learn builds its own docs (autodoc + autosummary + numpydoc), with
myst-parser for the Markdown pages. CI builds it with warnings as errors (.ci/docs):

    sphinx-build -W --keep-going -b html docs docs/_build/html

nnfast must be importable (installed, compiled extension included): autodoc imports it.
"""
import os
import re

import nnfast

project = "nnfast"
author = "the nnfast developers"
copyright = "the nnfast developers"
version = release = nnfast.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# generated/ holds autosummary's stub pages, rewritten on every build (see .gitignore).
exclude_patterns = ["_build"]
templates_path = ["_templates"]

# One stub page per documented object, from the autosummary tables of api.rst.
autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
# The signatures show the defaults as written, not their repr after evaluation.
autodoc_preserve_defaults = True

# scikit-learn's choices: the class template lists the methods itself, so numpydoc does not
# add a second table (which would also list every method inherited from scikit-learn).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# "ndarray of shape (m, k)" stays text: numpydoc would turn every word into a cross-reference.
numpydoc_xref_param_type = False

myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

html_theme = "alabaster"
html_title = f"nnfast {release}"
html_static_path = []


def _skip_sklearn_members(app, what, name, obj, skip, options):
    """A class page documents what nnfast defines (fit, predict, save, ...), not the methods
    it inherits from scikit-learn (get_params, score, the metadata-routing setters): those
    are scikit-learn's, documented there, and their docstrings point into scikit-learn's
    user guide, which this build cannot resolve."""
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and not module.startswith("nnfast"):
        return True
    return None


# A Markdown link with a relative target: [text](target), target not a URL or an anchor.
_RELATIVE_LINK = re.compile(r"(\[[^\]]*\]\()(?![a-zA-Z][a-zA-Z0-9+.-]*:|#)([^)\s]+)\)")


def _link_included_files(app, relative_path, parent_docname, content):
    """Links in an included Markdown file (benchmarks/RESULTS.md) point at files beside it
    (the run records, the charts), which are no pages of these docs: make each a download
    of that file (myst's ``path:`` scheme, "/" being the docs folder), so the page links to
    the record as RESULTS.md does in the repository; a link to a folder becomes its text."""
    if relative_path.suffix != ".md":
        return
    folder = os.path.normpath(os.path.join(app.srcdir, relative_path.parent))

    def to_download(match):
        path = os.path.join(folder, match.group(2).partition("#")[0])
        if os.path.isdir(path):  # a folder has no page to link to: its name stays, as text
            return match.group(1)[1:-2]
        target = os.path.relpath(path, app.srcdir)  # a missing file still fails the build
        return f"{match.group(1)}path:/{target.replace(os.sep, '/')})"

    content[0] = _RELATIVE_LINK.sub(to_download, content[0])


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_members)
    app.connect("include-read", _link_included_files)
