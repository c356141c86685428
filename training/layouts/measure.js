// Runs in the page (Selenium's execute_async_script): fits the content into its boxes,
// then reads the truth from the DOM. See render.py.
const done = arguments[arguments.length - 1];
(async () => {
  await document.fonts.ready;
  const page = document.getElementById('page');
  const P = page.getBoundingClientRect();
  const inside = (r, c, tol) => r.left >= c.left - tol && r.right <= c.right + tol &&
      r.top >= c.top - tol && r.bottom <= c.bottom + tol;
  const clipOf = (el) => {
    const c = el.parentElement && el.parentElement.closest('[data-fit]');
    return c ? c.getBoundingClientRect() : P;
  };
  const checked = () => [...document.querySelectorAll('[data-block],[data-box],[data-fit]')];
  const okIn = (el, c) => {
    for (const r of el.getClientRects()) {
      if (r.width === 0 && r.height === 0) continue;
      if (!inside(r, c, 0.5) || !inside(r, P, 0.5)) return false;
    }
    return true;
  };
  const fits = () => checked().every((el) => el.closest('[data-dropped]') || okIn(el, clipOf(el)));
  // Per box (innermost first): leave out the fewest droppable elements (highest key first)
  // that make its content fit, then trim the first one left out (a plain paragraph) to the
  // most words that still fit, as a page that ends mid-paragraph does.
  const owner = (el) => el.parentElement && el.parentElement.closest('[data-fit]');
  for (const box of [...document.querySelectorAll('[data-fit]')].reverse()) {
    const mine = checked().filter((el) => owner(el) === box);
    const fitsHere = () => {
      const c = box.getBoundingClientRect();
      return mine.every((el) => el.closest('[data-dropped]') || okIn(el, c));
    };
    if (fitsHere()) continue;
    const drops = [...box.querySelectorAll('[data-drop]')]
        .filter((el) => owner(el) === box)
        .sort((a, b) => Number(b.dataset.drop) - Number(a.dataset.drop));
    const hide = (k) => drops.forEach((el, i) => {
      if (i < k) { el.style.display = 'none'; el.setAttribute('data-dropped', ''); }
      else { el.style.removeProperty('display'); el.removeAttribute('data-dropped'); }
    });
    let lo = 0, hi = drops.length;
    hide(hi);
    if (!fitsHere()) continue;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      hide(mid);
      if (fitsHere()) hi = mid; else lo = mid;
    }
    hide(hi);
    const next = drops[hi - 1];
    if (next && next.hasAttribute('data-trim')) {
      const words = next.textContent.trim().split(/\s+/);
      next.style.removeProperty('display'); next.removeAttribute('data-dropped');
      let a = 0, b = words.length;
      while (b - a > 1) {
        const mid = (a + b) >> 1;
        next.textContent = words.slice(0, mid).join(' ');
        if (fitsHere()) a = mid; else b = mid;
      }
      if (a >= 4) next.textContent = words.slice(0, a).join(' ');
      else { next.style.display = 'none'; next.setAttribute('data-dropped', ''); }
    }
    drops.filter((el) => el.hasAttribute('data-dropped')).forEach((el) => el.remove());
  }
  let changed = true;
  while (changed) {
    changed = false;
    for (const el of document.querySelectorAll('[data-keepnext]')) {
      if (!el.nextElementSibling) { el.remove(); changed = true; }
    }
  }
  const ok = fits();
  const why = ok ? '' : (() => {
    const el = checked().find((e) => !okIn(e, clipOf(e)));
    return el ? `${el.tagName.toLowerCase()} ${el.dataset.role || el.id || el.className || ''}: ` +
        el.textContent.trim().slice(0, 40) : '';
  })();

  // Words: runs of non-space characters, joined across elements when nothing separates them.
  const sameLine = (a, b) => Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) >
      0.3 * Math.min(a.height, b.height);
  const rectsOf = (range) => [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0);
  function pieces(node, start, end) {
    const range = document.createRange();
    range.setStart(node, start); range.setEnd(node, end);
    const rects = rectsOf(range);
    if (rects.length <= 1 || rects.every((r) => sameLine(r, rects[0]))) {
      return rects.length ? [{text: node.data.slice(start, end), rects}] : [];
    }
    // A word broken across lines: split it where its characters change line.
    const out = [];
    for (let i = start; i < end; i++) {
      range.setStart(node, i); range.setEnd(node, i + 1);
      const rs = rectsOf(range);
      if (!rs.length) continue;
      const last = out[out.length - 1];
      if (last && sameLine(last.rects[last.rects.length - 1], rs[0])) {
        last.text += node.data[i]; last.rects.push(...rs);
      } else out.push({text: node.data[i], rects: rs});
    }
    return out;
  }
  function wordsOf(block) {
    const words = [];
    let gap = true;
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (parent.closest('[data-block]') !== block) continue;
      const cs = getComputedStyle(parent);
      if (cs.visibility !== 'visible' || cs.display === 'none') { gap = true; continue; }
      const s = node.data;
      const re = /\S+/gu;
      let m, end = 0;
      while ((m = re.exec(s))) {
        if (m.index > end) gap = true;
        end = m.index + m[0].length;
        const ps = pieces(node, m.index, end);
        if (!ps.length) { gap = true; continue; }
        ps.forEach((p, i) => {
          const cur = words[words.length - 1];
          const r = p.rects[0];
          if (i === 0 && !gap && cur) {
            const lr = cur.rects[cur.rects.length - 1];
            if (sameLine(lr, r) && Math.abs(r.left - lr.right) < 1.5) {
              cur.text += p.text; cur.rects.push(...p.rects); return;
            }
          }
          words.push({text: p.text, rects: p.rects});
        });
        gap = false;
      }
      if (end < s.length) gap = true;
    }
    return words.map((w) => {
      const l = Math.min(...w.rects.map((r) => r.left)), t = Math.min(...w.rects.map((r) => r.top));
      const rr = Math.max(...w.rects.map((r) => r.right));
      const b = Math.max(...w.rects.map((r) => r.bottom));
      return {text: w.text, box: [l - P.left, t - P.top, rr - P.left, b - P.top]};
    });
  }
  function linesOf(words) {
    const lines = [];
    let prev = null;
    for (const w of words) {
      const [l, t, r, b] = w.box;
      const h = b - t;
      if (!prev || Math.abs(t - prev.box[1]) > 0.5 * h || l < prev.box[0]) lines.push([]);
      lines[lines.length - 1].push(w);
      prev = w;
    }
    return lines;
  }
  // Text must stay inside its own block (no word spilling out of a narrow cell).
  let sane = true, spill = '';
  const blocks = [];
  for (const el of document.querySelectorAll('[data-block]')) {
    const words = wordsOf(el);
    const own = el.getBoundingClientRect();
    const rects = [...el.getClientRects()];
    for (const w of words) {
      const [l, t, r, b] = w.box;
      const box = {left: l + P.left, top: t + P.top, right: r + P.left, bottom: b + P.top};
      // Glyph boxes may stand above and below a tight line box; sideways they must not.
      const v = Math.max(0.5 * (b - t), 6);
      const within = (c) => box.left >= c.left - 3 && box.right <= c.right + 3 &&
          box.top >= c.top - v && box.bottom <= c.bottom + v;
      if (!rects.some(within) && !within(own)) {
        sane = false; spill = spill || `${el.dataset.role}: ${w.text}`;
      }
    }
    const d = el.dataset;
    blocks.push({
      id: Number(d.block), role: d.role,
      order: d.order === undefined ? null : Number(d.order),
      group: d.group === undefined ? null : Number(d.group),
      cell: d.table === undefined ? null : {
        table: Number(d.table), row: Number(d.row), col: Number(d.col),
        rowSpan: Number(d.rowspan), colSpan: Number(d.colspan), header: d.header === '1'},
      lines: linesOf(words),
    });
  }
  const boxOf = (el) => {
    const r = el.getBoundingClientRect();
    return [r.left - P.left, r.top - P.top, r.right - P.left, r.bottom - P.top];
  };
  const tables = [...document.querySelectorAll('[data-table-id]')].map((el) => ({
    id: Number(el.dataset.tableId), rows: Number(el.dataset.rows), cols: Number(el.dataset.cols),
    ruled: el.dataset.ruled === '1'}));
  const checkboxes = [...document.querySelectorAll('[data-checkbox]')].map((el) => ({
    box: boxOf(el), selected: el.dataset.checkbox === '1'}));
  done(JSON.stringify({ok, why, sane, spill, width: P.width, height: P.height, blocks, tables, checkboxes}));
})().catch((e) => done(JSON.stringify({error: String(e && e.stack || e)})));
