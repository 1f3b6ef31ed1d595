#!/usr/bin/env python
"""Build the documentation site into `docs/` from the notebooks in `nbs/` (one command, no Quarto).

    python tools/build_docs.py            # execute, process and render every notebook -> docs/
    python tools/build_docs.py --serve    # the same, then serve docs/ on http://127.0.0.1:8000

Steps, for every notebook nbdev knows about (`nbs/**/*.ipynb`, names not starting with `_` or `.`):
1. Execute it as `nbdev-test` does (its own folder as working directory, cells flagged with a
   `tst_flags` flag such as `#| slow` or `#| notest` are skipped, `#| eval: false` is honoured), so the
   examples, tables and plots in the docs are the outputs of the code as it is now. An error stops the build.
   Each notebook runs in a Python process of its own (nothing one notebook does reaches the next), with
   fastprogress in its notebook mode (fastai's HTML results table, as docs.fast.ai shows; the progress bars'
   intermediate states are dropped), figures shown where they are drawn even when a notebook switches
   matplotlib to a non-interactive backend, warnings from installed packages left out and the builder's
   paths replaced (`~`, `.`).
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
Static extras (stylesheet, images, the hand-written Quick start and Installation pages) live in `docs_src/` and
are copied in as they are; the Benchmarks page is written by `bench/report.py` from bench/results/*.json at build
time, the Changelog and Contributing pages are CHANGELOG.md and CONTRIBUTING.md; the footer shows the version.
`build_info.json` beside the executed notebooks tells tools/check_docs.py whether the sample data was there.

    python tools/build_docs.py --only nbs/02_data.ipynb   # re-execute one notebook, reuse the others' last run
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
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from devdata import sample_data_dir   # tools/devdata.py: where the sample archives are
from nbdev.frontmatter import nbpath2html
from nbdev.process import NBProcessor
from nbdev.processors import FilterDefaults, exec_show_docs

def log(msg): print(msg, flush=True)

# ---------------------------------------------------------------- 1. execute
# Each notebook runs in a process of its own (`python tools/build_docs.py --execute-one SRC DEST`), so nothing a
# notebook does (a matplotlib backend switched, figures left open, a module patched, threads set) reaches the next.

def _html_progress():
    "fastprogress's notebook (HTML) bars and results table, as in Jupyter: the build's shell is not a Jupyter kernel."
    import fastprogress, fastprogress.fastprogress as fp
    fp.IN_NOTEBOOK = True
    fp.master_bar, fp.progress_bar = fp.NBMasterBar, fp.NBProgressBar
    fastprogress.master_bar, fastprogress.progress_bar = fp.NBMasterBar, fp.NBProgressBar
    return fp.html_styles

def _collapse_updates(styles:str):
    "Keep only the last state of each display updated in place (progress bars, results table), as a notebook shows it."
    import execnb.shell as es
    orig = es._out_nb
    def empty(x):
        html = x.data.get('text/html')
        if html is None or set(x.data) - {'text/html', 'text/markdown', 'text/plain'}: return False
        html = str(html)
        return html == styles or not (re.sub(r'<[^>]+>', '', html).strip() or re.search(r'<(img|table|svg|canvas)', html))
    def _out_nb(o, fmt):
        objs, pos = [], {}
        for x in o.display_objects:
            did = (getattr(x, 'transient', None) or {}).get('display_id')
            if did is None: objs.append(x)
            elif did in pos: objs[pos[did]] = x
            else: pos[did] = len(objs); objs.append(x)
        o.display_objects = [x for x in objs if not empty(x)]
        return orig(o, fmt)
    es._out_nb = _out_nb

def _flush_figures(result=None):
    "Show the figures a cell left open when a notebook switched matplotlib away from the inline backend (as Jupyter would)."
    plt = sys.modules.get('matplotlib.pyplot')
    if plt is None or 'inline' in plt.get_backend(): return
    from IPython.display import display
    for n in plt.get_fignums(): display(plt.figure(n))
    plt.close('all')

def _quiet_warnings():
    "Warnings raised inside installed packages are the builder's business, not the reader's: keep only the project's."
    import warnings
    show = warnings.showwarning
    def showwarning(message, category, filename, lineno, file=None, line=None):
        if 'site-packages' in str(filename) or 'dist-packages' in str(filename) or str(filename).startswith(sys.prefix): return
        show(message, category, filename, lineno, file, line)
    warnings.showwarning = showwarning

def builder_paths() -> list[tuple[str, str]]:
    "Paths of the machine that built the docs, and what a reader sees in their place."
    subs = []
    if os.environ.get('RESNET_FA_HOME'): subs.append((os.environ['RESNET_FA_HOME'].rstrip('/'), '~/.cache/resnet_fa'))
    subs += [(str(ROOT), '.'), (str(Path.home()), '~')]
    return [(a, b) for a, b in subs if len(a) > 1]

def sanitize(obj, subs):
    "`obj` (outputs) with builder paths replaced, and `<ipython-input-N-...>` cell names as `<cell>`."
    if isinstance(obj, str):
        for a, b in subs: obj = obj.replace(a, b)
        return re.sub(r'<ipython-input-\d+-[0-9a-f]+>', '<cell>', obj)
    if isinstance(obj, list): return [sanitize(o, subs) for o in obj]
    if isinstance(obj, dict): return {k: (v if k.startswith('image/') else sanitize(v, subs)) for k, v in obj.items()}
    return obj

def execute_one(src:Path, dest:Path, skip_flags):
    "Run `src` like `nbdev-test` (same skipped cells, same working folder), with nbdev's `show_doc` cells added; write `dest`."
    from execnb.shell import CaptureShell
    from nbdev.processors import add_show_docs as _asd
    from nbdev.test import _skip_cell
    _quiet_warnings()
    _collapse_updates(_html_progress())
    # The show_doc cells run here, in the notebook's own run, rather than in the separate shell of nbdev's
    # `exec_show_docs` (which re-runs only export and import cells, and fails on an import nested in other code).
    nb = NBProcessor(src, procs=[_asd], rm_directives=False, process=True).nb
    shell = CaptureShell(src)
    shell.events.register('post_run_cell', _flush_figures)
    shell.run_cell('from nbdev.showdoc import show_doc')
    with working_directory(src.parent):
        # exc_stop: a failing cell raises here, which fails the build (after showing the cell and traceback).
        try: shell.run_all(nb, exc_stop=True, preproc=_skip_cell(nb, skip_flags))
        except Exception:
            sys.stderr.write((shell.prettytb(fname=src) or '') + '\n'); raise
    subs = builder_paths()
    for c in nb.cells:
        if c.cell_type == 'code' and c.get('outputs'): c['outputs'] = sanitize(c['outputs'], subs)
    write_nb(nb, dest)

def last_results_row(nb:dict) -> str|None:
    "The last row of the last training results table (fastai's HTML table) of an executed notebook, as one line."
    row = None
    for c in nb.cells:
        for o in c.get('outputs', []):
            html = _text(o.get('data', {}).get('text/html', ''))
            if '<table' not in html or 'epoch' not in html or 'train_loss' not in html: continue
            cells = re.findall(r'<t[hd](?:\s[^>]*)?>(.*?)</t[hd]>', html, re.S)
            head = re.findall(r'<th(?:\s[^>]*)?>(.*?)</th>', html, re.S)
            body = cells[len(head):]
            if head and len(body) >= len(head): row = dict(zip(head, body[-len(head):]))
    return ', '.join(f"{k} {v}" for k, v in row.items()) if row else None

def execute(src:Path, dest:Path, threads:int|None=None) -> None:
    "Execute `src` into `dest` in a fresh Python process (clean state: modules, matplotlib, threads, figures)."
    env = {**os.environ, **({'OMP_NUM_THREADS': str(threads)} if threads else {})}
    r = subprocess.run([sys.executable, str(Path(__file__).resolve()), '--execute-one', str(src), str(dest)], cwd=ROOT,
                       env=env)
    if r.returncode: raise RuntimeError(f"the notebook's process exited with {r.returncode} (its error is above)")

def execute_all(jobs:list[tuple[Path, Path]], workers:int) -> None:
    "Execute each `(src, dest)` of `jobs`, `workers` notebooks at a time with one thread each (as nbdev-test does)."
    from concurrent.futures import ThreadPoolExecutor
    def run(job):
        t = time.time()
        try: execute(*job, threads=1 if workers > 1 else None)
        except Exception as e: return job[0], e, time.time()-t
        return job[0], None, time.time()-t
    with ThreadPoolExecutor(workers) as pool:
        for src, err, secs in pool.map(run, jobs):
            if err: sys.exit(f"FAIL: executing {src.relative_to(ROOT)} for the docs: {type(err).__name__}: {err}")
            log(f"  executed {src.relative_to(ROOT)} in {secs:.1f} s")

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
    cells, title, documented = [], '', set()
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
            # one entry per documented name and page (a name shown twice, e.g. re-exported or patched, keeps its first)
            names = [m[1] for x in md if (m := re.search(r'^#{2,4}\s+(\S+)', x, re.M))]
            if names and all(n in documented for n in names): continue
            documented.update(names)
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

# Front-door pages, in this order after Home (docs_src/*.md, and the pages made from the repository's own files).
FRONT = ['quickstart.md', 'installation.md']
BACK = ['guarantees.md', 'benchmarks.md', 'changelog.md', 'contributing.md']

def make_nav(pages:list[tuple[Path, str]]) -> list:
    "Home, Quick start, Installation, Tutorials, modules (in notebook order), other folders, then Benchmarks, Changelog, Contributing."
    home, tutorials, modules, other, extra = [], [], [], {}, []
    mds = {rel.as_posix(): {title or rel.stem: rel.as_posix()} for rel, title in pages if rel.suffix == '.md'}
    for rel, title in pages:
        entry = {title or rel.stem: rel.as_posix()}
        if rel.as_posix() == 'index.ipynb': home.append({'Home': rel.as_posix()})
        elif rel.suffix == '.md':
            if rel.as_posix() not in FRONT + BACK: extra.append(entry)
        elif rel.parts[0] == 'tutorials': tutorials.append(entry)
        elif len(rel.parts) == 1: modules.append(entry)
        else: other.setdefault(rel.parts[0].replace('_', ' ').capitalize(), []).append(entry)
    nav = home + [mds[m] for m in FRONT if m in mds]
    nav += ([{'Tutorials': tutorials}] if tutorials else []) + ([{'API reference': modules}] if modules else [])
    return nav + [{k: v} for k, v in other.items()] + extra + [mds[m] for m in BACK if m in mds]

def version() -> str:
    "The library's version, as `resnet_fa.__version__` says (read from the file: no import needed)."
    init = ROOT/get_config().lib_path.name/'__init__.py'
    m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", init.read_text(encoding='utf-8'), re.M)
    return m[1] if m else 'unknown'

def write_config(nav) -> Path:
    "A config that inherits `mkdocs.yml` and adds the navigation found (mkdocs.yml itself never lists pages) and the version."
    import yaml
    cfg = STAGE/'mkdocs.yml'
    v = version()
    cfg.write_text(yaml.safe_dump({'INHERIT': '../../mkdocs.yml', 'docs_dir': 'pages', 'site_dir': '../../docs',
                                   'hooks': ['../../tools/docs_hooks.py'], 'nav': nav,
                                   'copyright': f'resnet_fa {v}',
                                   'extra': {'version_number': v}}, sort_keys=False))
    return cfg

# ---------------------------------------------------------------- pages made from the repository's own files
def _rewrite_repo_links(md:str, src:Path) -> str:
    "Relative links in a repository Markdown file that are not pages of the site point to the file on GitHub."
    repo = get_config().get('git_url') or 'https://github.com/resnet-fa/resnet_fa'
    base = f"{repo.rstrip('/')}/blob/main/"
    def fix(m):
        text, target = m[1], m[2]
        if re.match(r'[a-z]+:|#', target): return m[0]
        try: rel = (src.parent/target).resolve().relative_to(ROOT).as_posix()
        except ValueError: return m[0]
        return f"[{text}]({base}{rel})"
    return re.sub(r'(?<!!)\[([^\]]+)\]\(([^)\s]+)\)', fix, md)

def benchmarks_page(dest:Path) -> str:
    "BENCHMARKS.md as `bench/report.py` writes it from bench/results/*.json, regenerated now into the site (with its plot)."
    import contextlib, io
    sys.path.insert(0, str(ROOT/'bench'))
    try:
        import report
        report.OUT, report.PLOT = dest/'benchmarks.md', dest/'speed.png'
        with contextlib.redirect_stdout(io.StringIO()): report.main()
        how = 'regenerated by bench/report.py from bench/results/*.json'
    except Exception as e:            # a report.py that no longer runs this way: the committed files, as they are
        log(f"  (bench/report.py could not write into the site: {type(e).__name__}: {e}; using BENCHMARKS.md as committed)")
        md = (ROOT/'BENCHMARKS.md').read_text(encoding='utf-8')
        shutil.copy(ROOT/'bench'/'results'/'speed.png', dest/'speed.png')
        (dest/'benchmarks.md').write_text(md.replace('](bench/results/speed.png)', '](speed.png)'), encoding='utf-8')
        how = 'copied from BENCHMARKS.md'
    finally: sys.path.remove(str(ROOT/'bench'))
    md = (dest/'benchmarks.md').read_text(encoding='utf-8')
    (dest/'benchmarks.md').write_text(_rewrite_repo_links(md, ROOT/'BENCHMARKS.md'), encoding='utf-8')
    return how

def repo_pages(dest:Path) -> str:
    "Benchmarks, Changelog and Contributing pages from the repository's files, so the site and the repository never differ."
    how = benchmarks_page(dest)
    for name in ('CHANGELOG.md', 'CONTRIBUTING.md'):
        if (ROOT/name).is_file():
            (dest/name.lower()).write_text(_rewrite_repo_links((ROOT/name).read_text(encoding='utf-8'), ROOT/name), encoding='utf-8')
    return how

def is_fresh(executed:Path, src:Path) -> bool:
    "Is `executed` newer than its notebook and every module of the library?"
    deps = [src, *(ROOT/get_config().lib_path.name).glob('*.py')]
    return executed.exists() and executed.stat().st_mtime > max(f.stat().st_mtime for f in deps)

def main():
    if len(sys.argv) == 4 and sys.argv[1] == '--execute-one':     # the child process of `execute`
        os.chdir(ROOT)
        return execute_one(Path(sys.argv[2]), Path(sys.argv[3]), get_config().tst_flags.split())
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--serve', action='store_true', help='serve docs/ on http://127.0.0.1:8000 after building')
    p.add_argument('--reuse', action='store_true',
                   help='reuse executed notebooks newer than their source and the library (faster rebuilds while editing)')
    p.add_argument('--workers', type=int, default=2, help='notebooks executed at the same time (default 2)')
    p.add_argument('--only', nargs='+', default=None, metavar='NOTEBOOK',
                   help='execute only these notebooks; the others reuse their last executed copy (while editing)')
    args = p.parse_args()
    os.chdir(ROOT)
    t0 = time.time()
    cfg = get_config()
    nbs = Path(cfg.nbs_path)
    srcs = sorted(nbglob(as_path=True), key=lambda f: (f.parent != nbs, str(f)))
    only = None if args.only is None else {Path(o).resolve() for o in args.only}
    data = sample_data_dir()
    log(f"Sample data: {data if data else 'NOT FOUND: the tutorials will show code only (tools/check_docs.py fails such a build)'}")
    if PAGES.exists(): shutil.rmtree(PAGES)
    (STAGE/'executed').mkdir(parents=True, exist_ok=True)
    if (ROOT/'docs_src').exists(): shutil.copytree(ROOT/'docs_src', PAGES)
    PAGES.mkdir(parents=True, exist_ok=True)
    pages, results, prev_in_test = [], {}, os.environ.get('IN_TEST')
    os.environ['IN_TEST'] = '1'                        # as nbdev-test and nbdev-proc-nbs do
    reused, jobs = set(), []
    for src in srcs:
        executed = STAGE/'executed'/page_name(src, nbs)
        executed.parent.mkdir(parents=True, exist_ok=True)
        if (args.reuse and is_fresh(executed, src)) or (only is not None and src.resolve() not in only and executed.exists()):
            reused.add(src)
        else: jobs.append((src, executed))
    # Each notebook runs in its own process, so two can run side by side: with one thread each they share 2 cores
    # better than one notebook with two threads (most of a notebook's time is single-threaded Python).
    execute_all(sorted(jobs, key=lambda j: j[0].parent == nbs), workers=args.workers)   # tutorials (longest) first
    for src in srcs:
        t = time.time()
        rel = page_name(src, nbs)
        executed, reuse = STAGE/'executed'/rel, src in reused
        try: nb = nbdev_process(executed, src)
        except Exception as e: sys.exit(f"FAIL: processing {src.relative_to(ROOT)} for the docs: {type(e).__name__}: {e}")
        row = last_results_row(read_nb(executed))
        nb, title = to_mkdocs(nb, depth=len(rel.parts)-1)
        (PAGES/rel).parent.mkdir(parents=True, exist_ok=True)
        write_nb(nb, PAGES/rel)
        pages.append((rel, title))
        log(f"  {src.relative_to(ROOT)} -> {rel.with_suffix('.html')} ({title!r}, {time.time()-t:.1f} s{', reused' if reuse else ''})")
        if row: log(f"      last training epoch: {row}"); results[rel.with_suffix('.html').as_posix()] = row
    if prev_in_test is None: del os.environ['IN_TEST']
    t_nb = time.time()
    log(f"  benchmarks page {repo_pages(PAGES)}; changelog and contributing pages from CHANGELOG.md, CONTRIBUTING.md")
    # Markdown pages (docs_src/ and the repository's) join the navigation around the notebooks' pages.
    for md in sorted(PAGES.rglob('*.md')):
        h1 = re.search(r'^#\s+(.+)$', md.read_text(encoding='utf-8'), re.M)
        pages.append((md.relative_to(PAGES), h1[1].strip() if h1 else md.stem))
    config = write_config(make_nav(pages))
    if SITE.exists(): shutil.rmtree(SITE)
    # --strict: any mkdocs warning (broken nav entry, missing file, bad link in a markdown page) fails the build.
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '--clean', '-f', str(config)],
                       env={**os.environ, 'NO_MKDOCS_2_WARNING': '1'})
    if r.returncode: sys.exit(f"FAIL: mkdocs build --strict exited with {r.returncode}")
    # What tools/check_docs.py needs to know about this build (it fails a build made without the sample data).
    (STAGE/'build_info.json').write_text(json.dumps({'sample_data': data is not None, 'version': version(),
                                                     'training_results': results}, indent=1))
    log(f"Built {len(pages)} pages into {SITE.relative_to(ROOT)}/ in {time.time()-t0:.0f} s "
        f"(notebooks {t_nb-t0:.0f} s, mkdocs {time.time()-t_nb:.0f} s)")
    if args.serve: subprocess.run([sys.executable, '-m', 'http.server', '-b', '127.0.0.1', '-d', str(SITE), '8000'])

if __name__ == '__main__': main()
