// The emulator's try-it page: submit a document to Read v3.2 on this same origin, poll the
// operation (showing how many pages are read), and show each page, as the emulator drew it,
// with its line and word boxes and its text, one page at a time; and the JSON.
// No outside resources; the content-security policy allows this origin only.
"use strict";

const API = "/vision/v3.2";
// Emulator-only headers (docs/emulator.md): ask the service to keep an image of each page
// read, and read how many pages of a running operation are done ("1/2").
const PAGE_IMAGES = "x-ms-emulator-page-images";
const PAGES_DONE = "x-ms-emulator-pages-done";
const REASONS = {
  400: "Bad request",
  401: "Access denied",
  403: "Forbidden",
  404: "Not found",
  408: "Request timeout",
  413: "Document too large",
  415: "Unsupported media type",
  429: "Too many requests",
  500: "Service error",
  503: "Service unavailable",
};
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

let chosenFile = null;
let pages = []; // the operation's readResults
let imageUrls = []; // a blob: URL of each page's image, or null where there is none

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

function choose(file) {
  chosenFile = file;
  $("chosen").textContent = file ? `${file.name} (${file.size} bytes)` : "";
  if (file) $("url").value = "";
}

function analyzeUrl() {
  const query = new URLSearchParams();
  const language = $("language").value.trim();
  const pageRanges = $("pages").value.trim();
  if (language) query.set("language", language);
  if (pageRanges) query.set("pages", pageRanges);
  query.set("readingOrder", $("readingOrder").value);
  query.set("model-version", $("modelVersion").value);
  return `${API}/read/analyze?${query}`;
}

// "Access denied (401): <message>": the status in words, the service's code where it says
// more than the status (e.g. "400 InvalidImageFormat"), and its message, once.
async function errorText(response) {
  const status = response.status;
  const reason = REASONS[status] || (status >= 500 ? "Service error" : "Request refused");
  let code = "";
  let message = "";
  try {
    const body = await response.json();
    const error = body && typeof body.error === "object" && body.error ? body.error : body;
    code = error && error.code !== undefined ? String(error.code) : "";
    message = error && error.message ? String(error.message) : "";
  } catch (_) {
    message = response.statusText;
  }
  const label = code && code !== String(status) ? `${status} ${code}` : `${status}`;
  return message ? `${reason} (${label}): ${message}` : `${reason} (${label}).`;
}

// How many of an unfinished operation's pages are read, of how many (the emulator's
// pages-done header); [NaN, NaN] without it.
function pagesDone(response) {
  const [done, total] = (response.headers.get(PAGES_DONE) || "").split("/").map(Number);
  return [done, total];
}

function progressText(operation, response) {
  const [done, total] = pagesDone(response);
  if (operation.status === "notStarted") return "Waiting for a worker…";
  if (!total) return `${operation.status}…`;
  if (!done) return `Reading page 1 of ${total}…`;
  return `Page ${Math.min(done, total)} of ${total} read…`;
}

// How long to wait before the next poll: the service's hint (the time left for the whole
// job) shared among the pages left, so that each page is seen done; within 0.1 to 2 s.
function pollDelay(response) {
  const ms = Number(response.headers.get("retry-after-ms"));
  let seconds = ms > 0 ? ms / 1000 : Number(response.headers.get("Retry-After") || "0.5");
  const [done, total] = pagesDone(response);
  if (total > done) seconds /= total - done;
  return Math.min(Math.max(seconds, 0.1), 2) * 1000;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function forgetImages() {
  imageUrls.forEach((url) => url && URL.revokeObjectURL(url));
  imageUrls = [];
}

// Each page's image, fetched with the key (an <img> cannot send one) in page order.
async function fetchImages(location, key) {
  const urls = [];
  for (const page of pages) {
    let url = null;
    try {
      const answer = await fetch(`${location}/pages/${page.page}/image`, {
        headers: { "Ocp-Apim-Subscription-Key": key },
      });
      if (answer.ok) url = URL.createObjectURL(await answer.blob());
    } catch (_) {
      url = null;
    }
    urls.push(url);
  }
  return urls;
}

async function read(event) {
  event.preventDefault();
  const key = $("key").value;
  const url = $("url").value.trim();
  if (!chosenFile && !url) {
    setStatus("Choose a file, drop one, or give a URL.", true);
    return;
  }
  const headers = { "Ocp-Apim-Subscription-Key": key, [PAGE_IMAGES]: "true" };
  let body;
  if (chosenFile) {
    headers["Content-Type"] = "application/octet-stream";
    body = chosenFile;
  } else {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify({ url });
  }
  $("read").disabled = true;
  $("result").hidden = true;
  forgetImages();
  setStatus("Submitting…");
  try {
    const accepted = await fetch(analyzeUrl(), { method: "POST", headers, body });
    if (accepted.status !== 202) {
      setStatus(await errorText(accepted), true);
      return;
    }
    const location = accepted.headers.get("Operation-Location");
    for (;;) {
      const polled = await fetch(location, { headers: { "Ocp-Apim-Subscription-Key": key } });
      if (!polled.ok) {
        setStatus(await errorText(polled), true);
        return;
      }
      const operation = await polled.json();
      if (operation.status === "succeeded") {
        const count = operation.analyzeResult.readResults.length;
        setStatus(`Read ${count} page(s); loading their images…`);
        await show(operation, location, key);
        const missing = imageUrls.filter((image) => image === null).length;
        const note = missing ? ` (${missing} page image(s) not available)` : "";
        setStatus(`Read ${count} page(s).${note}`);
        return;
      }
      if (operation.status === "failed") {
        setStatus("The operation failed.", true);
        return;
      }
      setStatus(progressText(operation, polled));
      await sleep(pollDelay(polled));
    }
  } catch (error) {
    setStatus(`Request failed: ${error}`, true);
  } finally {
    $("read").disabled = false;
  }
}

async function show(operation, location, key) {
  pages = operation.analyzeResult.readResults;
  $("json").textContent = JSON.stringify(operation, null, 2);
  imageUrls = await fetchImages(location, key);
  const tabs = $("page-tabs");
  tabs.replaceChildren();
  pages.forEach((page, index) => {
    const tab = document.createElement("button");
    tab.type = "button";
    tab.setAttribute("role", "tab");
    tab.textContent = `Page ${page.page}`;
    tab.addEventListener("click", () => showPage(index));
    tabs.append(tab);
  });
  $("result").hidden = false;
  await showPage(0);
}

function polygon(box, kind) {
  const shape = document.createElementNS(SVG, "polygon");
  const points = [];
  for (let i = 0; i < box.length; i += 2) points.push(`${box[i]},${box[i + 1]}`);
  shape.setAttribute("points", points.join(" "));
  shape.setAttribute("class", kind);
  return shape;
}

// Page ``index``: its image (a white page of its size where there is none), its boxes and
// its text, together. Resolves once the image is decoded.
function showPage(index) {
  const page = pages[index];
  [...$("page-tabs").children].forEach((tab, i) => {
    tab.classList.toggle("current", i === index);
    tab.setAttribute("aria-selected", String(i === index));
  });
  $("text-title").textContent = pages.length > 1 ? `Text of page ${page.page}` : "Text";
  $("text").textContent = page.lines.map((line) => line.text).join("\n");
  // The figure has the page's shape; the image and the boxes both fill it.
  $("figure").style.aspectRatio = `${page.width} / ${page.height}`;
  const svg = $("boxes");
  svg.setAttribute("viewBox", `0 0 ${page.width} ${page.height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.replaceChildren();
  for (const line of page.lines) {
    svg.append(polygon(line.boundingBox, "line"));
    for (const word of line.words) svg.append(polygon(word.boundingBox, "word"));
  }
  const image = $("image");
  const url = imageUrls[index] || null;
  image.hidden = url === null;
  if (url === null) {
    image.removeAttribute("src");
    return Promise.resolve();
  }
  image.src = url;
  return image.decode().catch(() => undefined);
}

function init() {
  $("request").addEventListener("submit", read);
  $("file").addEventListener("change", () => choose($("file").files[0] || null));
  $("url").addEventListener("input", () => {
    if ($("url").value) {
      choose(null);
      $("file").value = "";
    }
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
  });
}

init();
