"""mkdocs hooks for the resnet_fa site (listed under `hooks:` in mkdocs.yml).

mkdocs-jupyter computes a notebook page's table of contents with Python-Markdown's slugs but renders the
headings with nbconvert's, which differ for headings holding code (`create_model` and `list_models`),
apostrophes or a name shown twice; the table of contents then links to ids that do not exist, and a
method's heading (`Learner.fit`) loses the dot of the id nbdev links to (`learner.fit`). This hook
makes every heading id on a page unique and rebuilds the table of contents from the headings as rendered,
so each entry (and the search index, which is built from the same ids) points at a real heading. The
headings' permalinks get mkdocs-material's class, so they look as on other pages and stay out of search titles.
"""
from __future__ import annotations
import html, re
from mkdocs.structure.toc import get_toc

_re_heading = re.compile(r'<h([1-6])(\s[^>]*?)?\sid="([^"]*)"([^>]*)>(.*?)</h\1>', re.S)
_re_anchor = re.compile(r'<a class="anchor-link" href="#[^"]*">(.*?)</a>', re.S)

def _text(inner:str) -> str:
    inner = _re_anchor.sub('', inner)
    return html.unescape(re.sub(r'<[^>]+>', '', inner)).replace('¶', '').strip()

def unique_headings(content:str):
    "`content` with unique heading ids (and their anchor links), and the headings as (level, id, name)."
    seen, headings = {}, []
    def fix(m):
        level, pre, hid, post, inner = int(m[1]), m[2] or '', m[3], m[4], m[5]
        # A documented method (`Class.method`) gets nbdev's id, `class.method`, which nbdev's links point to.
        if re.fullmatch(r'[A-Za-z_]\w*(\.\w+)+', _text(inner)): hid = _text(inner).lower()
        new = hid
        while new in seen: seen[hid] += 1; new = f"{hid}_{seen[hid]}"
        seen.setdefault(new, 0)
        headings.append((level, new, _text(inner)))
        # Material's own permalink class: styled like the markdown pages' and left out of search titles.
        inner = _re_anchor.sub(lambda a: f'<a class="headerlink" href="#{new}" title="Permanent link">{a[1]}</a>', inner)
        return f'<h{level}{pre} id="{new}"{post}>{inner}</h{level}>'
    return _re_heading.sub(fix, content), headings

def toc_tokens(headings, max_level=6):
    "Nested tokens as Python-Markdown's toc extension makes them, for `mkdocs.structure.toc.get_toc`."
    root, stack = [], []
    for level, hid, name in headings:
        if level > max_level: continue
        tok = {'level': level, 'id': hid, 'name': name, 'html': html.escape(name), 'data-toc-label': '', 'children': []}
        while stack and stack[-1]['level'] >= level: stack.pop()
        (stack[-1]['children'] if stack else root).append(tok)
        stack.append(tok)
    return root

def on_page_content(content, page, config, files):
    if not page.file.src_uri.endswith('.ipynb'): return content
    content, headings = unique_headings(content)
    page.toc = get_toc(toc_tokens(headings))
    return content
