"Write README.md from nbs/index.ipynb without Quarto (which nbdev-readme needs and this project cannot install)."
from pathlib import Path
from fastcore.nbio import read_nb

root = Path(__file__).resolve().parent.parent

def _hidden(cell): return any(l.strip() in ('#| hide', '#|hide') for l in cell.source.splitlines()[:5])
def _strip_directives(src): return '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()

def _cell_md(cell):
    if _hidden(cell): return ''
    if cell.cell_type == 'markdown': return cell.source.strip()
    if cell.cell_type != 'code': return ''
    src = _strip_directives(cell.source)
    if not src: return ''
    out = [f"```python\n{src}\n```"]
    for o in cell.get('outputs', []):
        text = o.get('text') or o.get('data', {}).get('text/plain')
        if text: out.append("```\n" + (''.join(text) if isinstance(text, list) else text).rstrip() + "\n```")
    return '\n\n'.join(out)

def make_readme(nb=root/'nbs'/'index.ipynb', dest=root/'README.md'):
    cells = [_cell_md(c) for c in read_nb(nb).cells]
    text = "<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n"
    dest.write_text(text + '\n\n'.join(c for c in cells if c) + '\n')

if __name__ == '__main__': make_readme()
