#!/usr/bin/env python
"""Build the documentation site into `docs/` from the notebooks in `nbs/` (one command, no Quarto).

    python tools/build_docs.py            # execute, process and render every notebook -> docs/
    python tools/build_docs.py --serve    # the same, then serve docs/ on http://127.0.0.1:8000

Steps, for every notebook nbdev knows about (`nbs/**/*.ipynb`, names not starting with `_` or `.`):
1. Execute it as `nbdev-test` does (its own folder as working directory, cells flagged with a
   `tst_flags` flag such as `#| slow` or `#| notest` are skipped, `#| eval: false` is honoured), so the
   examples, tables and plots in the docs are the outputs of the code as it is now. An error stops the build.
2. Apply nbdev's docs processors (`nbdev.processors.FilterDefaults`, what `nbdev-proc-nbs` runs): directives
   such as `#| hide` and `#| export`, a `show_doc` cell after every exported function and class, links from
   backticked names to their docs, the title and description as front matter.
3. Turn what Quarto would have interpreted into plain notebook cells that mkdocs-jupyter renders: the front
   matter becomes the page's title, `show_doc` output (`#| output: asis`) becomes a markdown cell (so each
   symbol is a heading with an anchor, in the page's table of contents and in the search index),
   `#| echo: false` hides a cell's code, `#| output: false` drops its output.
4. Render the pages with mkdocs-material + mkdocs-jupyter (`mkdocs.yml`, strict mode: broken navigation or
   missing files fail the build), with a navigation made from the notebooks found: Home (`index.ipynb`),
   Tutorials (`nbs/tutorials/`), then one page per module notebook in notebook order.
Static extras (stylesheet, images, hand-written `.md` pages, which join the navigation) live in `docs_src/` and
are copied in as they are.
"""
from __future__ import annotations
import argparse, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
ROOT = Path(__file__).resolve().parent.parent
STAGE = ROOT/'_docs'/'mkdocs'      # git-ignored working folder (nbdev's own, unused without Quarto)
PAGES = STAGE/'pages'
SITE = ROOT/'docs'
sys.path.insert(0, str(ROOT))      # the notebooks import resnet_fa from this checkout, as nbdev-test lets them

from fastcore.basics import str2bool
from fastcore.nbio import read_nb, write_nb, mk_cell
from fastcore.xtras import working_directory
from execnb.shell import CaptureShell
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.frontmatter import nbpath2html
from nbdev.process import NBProcessor
from nbdev.processors import FilterDefaults, add_show_docs, exec_show_docs
from nbdev.test import _skip_cell

def log(msg): print(msg, flush=True)

# ---------------------------------------------------------------- 1. execute
def execute(src:Path, skip_flags) -> dict:
    "Run `src` like `nbdev-test` (same skipped cells, same working folder), with nbdev's `show_doc` cells added."
    # The show_doc cells run here, in the notebook's own run, rather than in the separate shell of nbdev's
    # `exec_show_docs` (which re-runs only export and import cells, and fails on an import nested in other code).
    nb = NBProcessor(src, procs=[add_show_docs], rm_directives=False, process=True).nb
    shell = CaptureShell(src)
    shell.run_cell('from nbdev.showdoc import show_doc')
    with working_directory(src.parent):
        # exc_stop: a failing cell raises here, which fails the build (after showing the cell and traceback).
        try: shell.run_all(nb, exc_stop=True, preproc=_skip_cell(nb, skip_flags))
        except Exception:
            sys.stderr.write((shell.prettytb(fname=src) or '') + '\n'); raise
    return nb

# ---------------------------------------------------------------- 2. nbdev's docs processors
class DocsProcs(FilterDefaults):
    "The processors `nbdev-proc-nbs` applies, except `exec_show_docs`: the notebook has run already."
    def base_procs(self): return [p for p in super().base_procs() if p is not exec_show_docs]

def join_description(nb):
    "nbdev's front matter keeps only the first line of a `> description` spread over several lines: join them."
    c = next((c for c in nb.cells if c.cell_type == 'markdown'), None)
    if c is None or not c.source.lstrip().startswith('# '): return
    out = []
    for line in c.source.splitlines():
        if out and out[-1].startswith('> ') and line.startswith('> '): out[-1] += ' ' + line[2:].strip()
        else: out.append(line)
    c.source = '\n'.join(out)

def nbdev_process(executed:Path, src:Path) -> dict:
    "Apply nbdev's docs processors (directives, show_doc, links, front matter) to the executed notebook."
    nb = read_nb(executed)
    join_description(nb)
    nb['path_'] = str(src)         # the front matter's `output-file` comes from the source notebook's name
    DocsProcs()(nb)
    return nb

# ---------------------------------------------------------------- 3. Quarto-isms -> plain notebook cells
_re_qdir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')
_re_fm = re.compile(r'^\s*---\s*\n(.*?)\n---\s*$', re.DOTALL)

def split_directives(source:str):
    "The Quarto `#| key: value` lines opening `source`, as a dict, and the code after them."
    lines, dirs = source.splitlines(), {}
    while lines and (m := _re_qdir.match(lines[0])): dirs[m[1]] = m[2].strip('"\''); lines.pop(0)
    return dirs, '\n'.join(lines).strip('\n')

def _text(v): return ''.join(v) if isinstance(v, list) else v

def doc_url_prefix():
    cfg = get_config()
    return f"{cfg.doc_host.rstrip('/')}/{cfg.doc_baseurl.strip('/')}/" if cfg.get('doc_host') else None

def relative_doc_links(md:str, depth:int) -> str:
    "Links nbdev made to this project's published docs point into this build instead (works offline, checkable)."
    prefix = doc_url_prefix()
    return md.replace(prefix, '../'*depth) if prefix else md

_re_pandoc_link = re.compile(r'\[([^\]]+)\]\(([^)\s]+)\)\{([^}]*)\}')

def _html_attrs(attrs:str) -> str:
    "Pandoc attributes (`.cls #id key=\"v\"`) as HTML attributes."
    out = []
    for a in re.findall(r'[\w-]+="[^"]*"|[\w-]+=\S+|[.#][\w-]+', attrs):
        if a[0] == '.': out.append(f'class="{a[1:]}"')
        elif a[0] == '#': out.append(f'id="{a[1:]}"')
        else: out.append(a)
    return ' '.join(out)

def pandoc_links(md:str) -> str:
    "Links with Pandoc attributes (show_doc's `[source](url){target=...}`) as HTML links, which any renderer shows."
    return _re_pandoc_link.sub(lambda m: f'<a href="{m[2]}" {_html_attrs(m[3])}>{m[1]}</a>', md)

def front_matter_cell(cell):
    "Front matter -> `# title` and the description as the page's lead paragraph; returns (cell, title)."
    import yaml
    m = _re_fm.match(_text(cell.source))
    if not m: return None, None
    fm = yaml.safe_load(m[1]) or {}
    title = str(fm.get('title', '')).strip()
    md = f"# {title}\n" if title else ''
    if fm.get('description'): md += f"\n> {str(fm['description']).strip()}\n"
    return (mk_cell(md, 'markdown') if md else None), title

def to_mkdocs(nb:dict, depth:int) -> tuple[dict, str]:
    "Cells mkdocs-jupyter renders as Quarto would have; returns the notebook and its page title."
    cells, title = [], ''
    for cell in nb.cells:
        src = _text(cell.get('source', ''))
        if cell.cell_type == 'raw':
            if not cells and _re_fm.match(src):
                fm_cell, title = front_matter_cell(cell)
                if fm_cell: cells.append(fm_cell)
            continue                                  # other raw cells are for Quarto/LaTeX only
        if cell.cell_type == 'markdown':
            if '<!-- WARNING: THIS FILE WAS AUTOGENERATED' in src: continue
            cells.append(mk_cell(pandoc_links(relative_doc_links(src, depth)), 'markdown')); continue
        dirs, code = split_directives(src)
        if str2bool(dirs.get('include', 'true')) is False: continue
        outputs = [] if dirs.get('output') == 'false' else list(cell.get('outputs', []))
        echo = str2bool(dirs.get('echo', 'true')) is not False
        if dirs.get('output') == 'asis':
            # show_doc and friends: their markdown output is the page content itself.
            md = [_text(o['data']['text/markdown']) for o in outputs if 'text/markdown' in o.get('data', {})]
            if echo and code: cells.append(_code_cell(code, []))
            if md: cells.append(mk_cell(pandoc_links(relative_doc_links('\n\n'.join(md), depth)), 'markdown'))
            continue
        if not code and not outputs: continue
        for o in outputs:                              # markdown outputs carry nbdev links too
            if 'text/markdown' in o.get('data', {}):
                o['data']['text/markdown'] = pandoc_links(relative_doc_links(_text(o['data']['text/markdown']), depth))
        c = _code_cell(code, outputs)
        if not echo: c.metadata['tags'] = ['hide_input']
        cells.append(c)
    nb.cells = cells
    if not title:
        h1 = next((re.match(r'#\s+(.*)', _text(c.source)) for c in cells if c.cell_type == 'markdown'), None)
        title = h1[1].strip() if h1 else ''
    return nb, title

def _code_cell(code, outputs):
    c = mk_cell(code, 'code')
    c['outputs'], c['execution_count'] = outputs, None
    for o in outputs:
        if 'execution_count' in o: o['execution_count'] = None
    return c

# ---------------------------------------------------------------- 4. navigation and mkdocs
def page_name(src:Path, nbs:Path) -> Path:
    "`nbs/00_core.ipynb` -> `core.ipynb`, `nbs/tutorials/01_pets.ipynb` -> `tutorials/pets.ipynb` (nbdev's page names)."
    return nbpath2html(src.relative_to(nbs)).with_suffix('.ipynb')

def make_nav(pages:list[tuple[Path, str]]) -> list:
    "Home, Tutorials, modules (in notebook order), any other folder as its own section, then docs_src/ pages."
    home, tutorials, modules, other, extra = [], [], [], {}, []
    for rel, title in pages:
        entry = {title or rel.stem: rel.as_posix()}
        if rel.as_posix() == 'index.ipynb': home.append({'Home': rel.as_posix()})
        elif rel.suffix == '.md': extra.append(entry)
        elif rel.parts[0] == 'tutorials': tutorials.append(entry)
        elif len(rel.parts) == 1: modules.append(entry)
        else: other.setdefault(rel.parts[0].replace('_', ' ').capitalize(), []).append(entry)
    nav = home + ([{'Tutorials': tutorials}] if tutorials else []) + ([{'API reference': modules}] if modules else [])
    return nav + [{k: v} for k, v in other.items()] + extra

def write_config(nav) -> Path:
    "A config that inherits `mkdocs.yml` and adds the navigation found (mkdocs.yml itself never lists pages)."
    import yaml
    cfg = STAGE/'mkdocs.yml'
    cfg.write_text(yaml.safe_dump({'INHERIT': '../../mkdocs.yml', 'docs_dir': 'pages', 'site_dir': '../../docs',
                                   'hooks': ['../../tools/docs_hooks.py'], 'nav': nav}, sort_keys=False))
    return cfg

def is_fresh(executed:Path, src:Path) -> bool:
    "Is `executed` newer than its notebook and every module of the library?"
    deps = [src, *(ROOT/get_config().lib_path.name).glob('*.py')]
    return executed.exists() and executed.stat().st_mtime > max(f.stat().st_mtime for f in deps)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--serve', action='store_true', help='serve docs/ on http://127.0.0.1:8000 after building')
    p.add_argument('--reuse', action='store_true',
                   help='reuse executed notebooks newer than their source and the library (faster rebuilds while editing)')
    args = p.parse_args()
    os.chdir(ROOT)
    t0 = time.time()
    cfg = get_config()
    nbs, skip_flags = Path(cfg.nbs_path), cfg.tst_flags.split()
    srcs = sorted(nbglob(as_path=True), key=lambda f: (f.parent != nbs, str(f)))
    if PAGES.exists(): shutil.rmtree(PAGES)
    (STAGE/'executed').mkdir(parents=True, exist_ok=True)
    if (ROOT/'docs_src').exists(): shutil.copytree(ROOT/'docs_src', PAGES)
    PAGES.mkdir(parents=True, exist_ok=True)
    pages, prev_in_test = [], os.environ.get('IN_TEST')
    os.environ['IN_TEST'] = '1'                        # as nbdev-test and nbdev-proc-nbs do
    for src in srcs:
        t = time.time()
        rel = page_name(src, nbs)
        executed = STAGE/'executed'/rel
        executed.parent.mkdir(parents=True, exist_ok=True)
        try:
            if not (args.reuse and is_fresh(executed, src)): write_nb(execute(src, skip_flags), executed)
        except Exception as e: sys.exit(f"FAIL: executing {src.relative_to(ROOT)} for the docs: {type(e).__name__}: {e}")
        try: nb = nbdev_process(executed, src)
        except Exception as e: sys.exit(f"FAIL: processing {src.relative_to(ROOT)} for the docs: {type(e).__name__}: {e}")
        nb, title = to_mkdocs(nb, depth=len(rel.parts)-1)
        (PAGES/rel).parent.mkdir(parents=True, exist_ok=True)
        write_nb(nb, PAGES/rel)
        pages.append((rel, title))
        log(f"  {src.relative_to(ROOT)} -> {rel.with_suffix('.html')} ({title!r}, {time.time()-t:.1f} s)")
    if prev_in_test is None: del os.environ['IN_TEST']
    t_nb = time.time()
    # Hand-written markdown pages from docs_src/ (if any) join the navigation after the notebooks' pages.
    for md in sorted(PAGES.rglob('*.md')):
        h1 = re.search(r'^#\s+(.+)$', md.read_text(encoding='utf-8'), re.M)
        pages.append((md.relative_to(PAGES), h1[1].strip() if h1 else md.stem))
    config = write_config(make_nav(pages))
    if SITE.exists(): shutil.rmtree(SITE)
    # --strict: any mkdocs warning (broken nav entry, missing file, bad link in a markdown page) fails the build.
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '--clean', '-f', str(config)],
                       env={**os.environ, 'NO_MKDOCS_2_WARNING': '1'})
    if r.returncode: sys.exit(f"FAIL: mkdocs build --strict exited with {r.returncode}")
    log(f"Built {len(pages)} pages into {SITE.relative_to(ROOT)}/ in {time.time()-t0:.0f} s "
        f"(notebooks {t_nb-t0:.0f} s, mkdocs {time.time()-t_nb:.0f} s)")
    if args.serve: subprocess.run([sys.executable, '-m', 'http.server', '-b', '127.0.0.1', '-d', str(SITE), '8000'])

if __name__ == '__main__': main()
