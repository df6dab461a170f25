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

# Files outside docs/ that a page includes whole (repository path -> that page): a link to
# one of them, from any page, goes to the page.
_INCLUDED = {"benchmarks/RESULTS.md": "benchmarks.md"}


def _outside_links(app, text, folder):
    """`text` (Markdown read from `folder`) with its links to files outside docs/ made to
    work in the site. Such a file is no page of these docs (Sphinx would take a .md one for
    a missing page and fail): a file that a page includes becomes a link to that page; any
    other, a download of the file (myst's ``path:`` scheme, "/" being the docs folder), so
    the run records and charts that benchmarks/RESULTS.md links to come with the site; a
    folder has nothing to link to, so its link text stays, as text. Links inside docs/ are
    left to myst, and a link to a missing file is left as written: it fails the build."""
    srcdir = os.path.normpath(app.srcdir)
    repo = os.path.dirname(srcdir)

    def rewrite(match):
        target, hash_, anchor = match.group(2).partition("#")
        path = os.path.normpath(os.path.join(folder, target))
        if path == srcdir or path.startswith(srcdir + os.sep) or not os.path.exists(path):
            return match.group(0)
        page = _INCLUDED.get(os.path.relpath(path, repo).replace(os.sep, "/"))
        if page is not None:
            link = os.path.relpath(os.path.join(srcdir, page), folder).replace(os.sep, "/")
            return f"{match.group(1)}{link}{hash_}{anchor})"
        if os.path.isdir(path):
            return match.group(1)[1:-2]
        target = os.path.relpath(path, srcdir).replace(os.sep, "/")
        return f"{match.group(1)}path:/{target})"

    return _RELATIVE_LINK.sub(rewrite, text)


def _page_links(app, docname, source):
    path = str(app.env.doc2path(docname))  # a str before Sphinx 8, a Path since
    if path.endswith(".md"):
        source[0] = _outside_links(app, source[0], os.path.dirname(path))


def _included_links(app, relative_path, parent_docname, content):
    if relative_path.suffix == ".md":
        folder = os.path.normpath(os.path.join(app.srcdir, relative_path.parent))
        content[0] = _outside_links(app, content[0], folder)


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_members)
    app.connect("source-read", _page_links)
    app.connect("include-read", _included_links)
