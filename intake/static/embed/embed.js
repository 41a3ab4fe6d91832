/*
 * Tipline's comment thread, embedded in an outlet's article page.
 *
 * The outlet puts this where the comments go:
 *
 *   <div id="tipline-comments"></div>
 *   <script src="https://PUBLIC-SITE/embed.js" data-article="KEY" async></script>
 *   <noscript><a href="https://PUBLIC-SITE/articles/KEY">Comentarios</a></noscript>
 *
 * Optional attributes of the script tag: data-url (default: the page's <link rel=canonical>, or
 * its address without the fragment), data-title (default: document.title), data-lang ("es" or
 * "en"; default: <html lang>, else "es"), data-target (the container's id; default
 * "tipline-comments"). The <noscript> link is the outlet's own: readers without JavaScript read
 * and write on the public site's page of the article. We render nothing for them.
 *
 * The thread lives in a shadow root, so the outlet's stylesheet cannot break it; the outlet
 * restyles it with the --tipline-* custom properties (see embed.css), set on the container or
 * on :root. Content-Security-Policy friendly: no inline script or style, no eval; the outlet's
 * policy needs the public site in script-src, style-src and connect-src. No cookies, no storage.
 */
(() => {
  "use strict";

  // Only true while this script runs for the first time: read it now, not after an await.
  const script = document.currentScript;
  if (!script || !script.dataset.article) {
    return;
  }
  const BASE = script.src.replace(/\/embed\.js(?:[?#].*)?$/, "");
  const options = script.dataset;
  const LANGUAGES = ["es", "en"];
  const POLL_FAST_MS = 1000;
  const POLL_FAST_TIMES = 15;
  const POLL_SLOW_MS = 5000;
  const POLL_SLOW_TIMES = 24;
  const REASONS = ["spam", "abuse", "off_topic", "other"];
  // Shown only when the messages themselves could not be loaded, so they cannot come from them.
  const FALLBACK = {
    es: { error_load: "No se pudieron cargar los comentarios.", retry: "Reintentar" },
    en: { error_load: "The comments could not be loaded.", retry: "Try again" },
  };

  function pageLanguage() {
    const asked = (options.lang || document.documentElement.lang || "").slice(0, 2).toLowerCase();
    return LANGUAGES.includes(asked) ? asked : "es";
  }

  function pageUrl() {
    if (options.url) {
      return options.url;
    }
    const canonical = document.querySelector('link[rel="canonical"]');
    if (canonical && canonical.href) {
      return canonical.href;
    }
    return location.href.split("#")[0];
  }

  const lang = pageLanguage();
  const key = options.article;
  const state = {
    messages: FALLBACK[lang],
    embeddingAllowed: true,
    order: "newest",
    article: null,
    count: 0,
    nextCursor: null,
    formCount: 0,
    composeFor: null,
  };
  let root = null; // the shadow root
  let parts = {}; // the thread's fixed elements

  // ---- small helpers -------------------------------------------------------------------

  function t(id, params) {
    let text = state.messages[id];
    if (typeof text !== "string") {
      text = id;
    }
    for (const [name, value] of Object.entries(params || {})) {
      text = text.split(`%(${name})s`).join(String(value));
    }
    return text;
  }

  function tn(id, n) {
    const forms = state.messages[id] || {};
    const category = new Intl.PluralRules(lang).select(n);
    const text = forms[category] || forms.other || String(n);
    return text.split("{n}").join(n.toLocaleString(lang));
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) {
        continue;
      }
      if (name === "class") {
        el.className = value;
      } else if (name.startsWith("on")) {
        el.addEventListener(name.slice(2), value);
      } else {
        el.setAttribute(name, value === true ? "" : String(value));
      }
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) {
        el.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return el;
  }

  function uid(prefix) {
    state.formCount += 1;
    return `tl-${prefix}-${state.formCount}`;
  }

  // The API's body_html is escaped by the server (core.text.linkify). It is still parsed in an
  // inert <template> and only text, line breaks and http(s) links are copied over, so a fault
  // on the server could never run script on the outlet's page.
  function safeHtml(html) {
    const template = document.createElement("template");
    template.innerHTML = html || "";
    const out = document.createDocumentFragment();
    copyAllowed(template.content, out);
    return out;
  }

  function copyAllowed(from, to) {
    for (const node of from.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        to.append(node.textContent);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        const name = node.localName;
        const href = name === "a" ? node.getAttribute("href") || "" : "";
        if (name === "a" && /^https?:\/\//i.test(href)) {
          const link = h("a", { href, rel: "nofollow ugc noopener noreferrer" });
          copyAllowed(node, link);
          to.append(link);
        } else if (name === "br") {
          to.append(h("br"));
        } else {
          copyAllowed(node, to);
        }
      }
    }
  }

  function formatDate(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) {
      return "";
    }
    return date.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
  }

  // ---- talking to the public site --------------------------------------------------------

  class NetworkError extends Error {}

  async function request(path, body) {
    const init = {
      method: body === undefined ? "GET" : "POST",
      // The API's messages (errors, the receipt) come in the page's language.
      headers: { Accept: "application/json", "Accept-Language": lang },
      credentials: "omit",
      mode: "cors",
      // Always ask: the server answers 304 from its ETag when nothing changed.
      cache: "no-cache",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const url = /^https?:/.test(path) ? path : BASE + path;
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      // A refused origin gets no CORS headers, which the browser reports as a network error.
      throw new NetworkError(String(error));
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    return { status: response.status, data: data || {} };
  }

  function problemText(status, data, fallback) {
    if (status === 403 || !state.embeddingAllowed) {
      return data.error || t("error_forbidden");
    }
    if (status === 429) {
      return t("error_rate");
    }
    if (status === 404 || status === 410) {
      return t("error_gone");
    }
    return data.error || t(fallback);
  }

  function failureText(error, fallback) {
    if (error instanceof NetworkError) {
      return state.embeddingAllowed ? t(fallback) : t("error_forbidden");
    }
    return t("error_other");
  }

  async function loadMessages() {
    const { status, data } = await request(`/embed/messages.json?locale=${lang}`);
    if (status !== 200 || !data.messages) {
      throw new NetworkError(`messages: ${status}`);
    }
    state.messages = data.messages;
    state.embeddingAllowed = data.embedding_allowed !== false;
  }

  function commentsPath(cursor) {
    const query = new URLSearchParams({ order: state.order });
    if (cursor) {
      query.set("cursor", cursor);
    }
    return `/api/v1/articles/${encodeURIComponent(key)}/comments?${query}`;
  }

  // The thread's first page; the article is registered on first sight.
  async function fetchThread() {
    let answer = await request(commentsPath(null));
    if (answer.status === 404) {
      const registered = await request("/api/v1/articles", {
        key,
        url: pageUrl(),
        title: options.title || document.title,
      });
      if (registered.status !== 200 && registered.status !== 201) {
        return registered;
      }
      answer = await request(commentsPath(null));
    }
    return answer;
  }

  // ---- the thread ------------------------------------------------------------------------

  function showStatus(text, retry) {
    parts.status.replaceChildren(h("p", {}, text));
    if (retry) {
      parts.status.append(h("button", { type: "button", class: "tl-button", onclick: start }, t("retry")));
    }
    parts.status.hidden = false;
  }

  function clearStatus() {
    parts.status.replaceChildren();
    parts.status.hidden = true;
  }

  function setCount(count) {
    state.count = count;
    parts.heading.textContent = tn("count", count);
  }

  function byline(comment, level) {
    const authorId = `tl-c-${comment.id}-author`;
    return [
      h(`h${level}`, { class: "tl-author", id: authorId }, comment.author),
      h("p", { class: "tl-date" }, h("time", { datetime: comment.created_at }, formatDate(comment.created_at))),
    ];
  }

  function renderEntry(comment, isReply) {
    const item = h("li", { class: isReply ? "tl-reply" : "tl-comment", id: `tl-c-${comment.id}` });
    const box = h("article", { class: "tl-entry", tabindex: "-1" });
    if (comment.removed) {
      box.append(h("p", { class: "tl-removed" }, t(isReply ? "reply_removed" : "comment_removed")));
    } else {
      box.setAttribute("aria-labelledby", `tl-c-${comment.id}-author`);
      if (comment.featured) {
        box.append(h("p", { class: "tl-badge" }, t("featured")));
      }
      box.append(...byline(comment, isReply ? 4 : 3));
      const text = h("div", { class: "tl-body" });
      text.append(safeHtml(comment.body_html));
      box.append(text);
      const slot = h("div", { class: "tl-slot" });
      const described = `tl-c-${comment.id}-author`;
      box.append(
        h(
          "div",
          { class: "tl-actions" },
          state.article && state.article.status !== "closed"
            ? h("button", { type: "button", class: "tl-link", "aria-describedby": described, onclick: () => openReply(comment, slot) }, t("reply"))
            : null,
          h("button", { type: "button", class: "tl-link", "aria-describedby": described, onclick: () => openReport(comment, slot) }, t("report")),
        ),
        slot,
      );
    }
    item.append(box);
    if (!isReply) {
      const replies = h("ol", { class: "tl-replies", hidden: !(comment.replies || []).length });
      for (const reply of comment.replies || []) {
        replies.append(renderEntry(reply, true));
      }
      item.append(replies);
      if (comment.replies_next_cursor) {
        item.append(moreRepliesButton(comment.id, comment.replies_next_cursor, replies));
      }
    }
    return item;
  }

  function moreRepliesButton(id, cursor, list) {
    const button = h("button", { type: "button", class: "tl-button tl-button--quiet" }, t("more_replies"));
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const query = new URLSearchParams({ cursor });
        const { status, data } = await request(`/api/v1/comments/${id}/replies?${query}`);
        if (status !== 200) {
          throw new Error(problemText(status, data, "error_load"));
        }
        const added = (data.replies || []).map((reply) => renderEntry(reply, true));
        list.append(...added);
        if (added.length) {
          added[0].querySelector(".tl-entry").focus();
        }
        if (data.next_cursor) {
          button.replaceWith(moreRepliesButton(id, data.next_cursor, list));
        } else {
          button.remove();
        }
      } catch (error) {
        button.disabled = false;
        showStatus(error.message || t("error_load"), false);
      }
    });
    return button;
  }

  function renderPage(data, append) {
    state.article = data.article;
    setCount(data.count || 0);
    if (!append) {
      parts.featuredList.replaceChildren(...(data.featured || []).map((c) => renderEntry(c, false)));
      parts.featured.hidden = !(data.featured || []).length;
      parts.list.replaceChildren();
      // Only when the article's state changed: a new order must not throw away a draft.
      if (state.composeFor !== data.article.status) {
        renderCompose();
      }
    }
    const added = (data.comments || []).map((c) => renderEntry(c, false));
    parts.list.append(...added);
    state.nextCursor = data.next_cursor || null;
    parts.more.hidden = !state.nextCursor;
    parts.empty.hidden = state.count > 0 || state.article.status === "closed";
    return added;
  }

  async function loadFirstPage() {
    try {
      const { status, data } = await fetchThread();
      if (status !== 200) {
        showStatus(problemText(status, data, "error_load"), status !== 403);
        return;
      }
      clearStatus();
      parts.body.hidden = false;
      renderPage(data, false);
    } catch (error) {
      showStatus(failureText(error, "error_load"), state.embeddingAllowed);
    }
  }

  async function loadMore() {
    parts.more.disabled = true;
    try {
      const { status, data } = await request(commentsPath(state.nextCursor));
      if (status !== 200) {
        showStatus(problemText(status, data, "error_load"), false);
        return;
      }
      const added = renderPage(data, true);
      if (added.length) {
        added[0].querySelector(".tl-entry").focus();
      }
    } catch (error) {
      showStatus(failureText(error, "error_load"), false);
    } finally {
      parts.more.disabled = false;
    }
  }

  // ---- forms -----------------------------------------------------------------------------

  function field(id, label, control, hint) {
    const hintId = hint ? `${id}-hint` : null;
    if (hintId) {
      control.setAttribute("aria-describedby", hintId);
    }
    control.id = id;
    return h(
      "div",
      { class: "tl-field", "data-field": control.name },
      h("label", { class: "tl-label", for: id }, label),
      hint ? h("p", { class: "tl-hint", id: hintId }, hint) : null,
      control,
    );
  }

  // The comment form: the thread's own, or a reply's under `parent`.
  function commentForm(parent) {
    const id = uid("form");
    const form = h("form", { class: "tl-form", novalidate: true });
    const summary = h("div", { class: "tl-summary", role: "alert", tabindex: "-1", hidden: true });
    const notice = h("div", { class: "tl-notice", role: "status", tabindex: "-1", hidden: true });
    const submit = h("button", { type: "submit", class: "tl-button" }, t(parent ? "send_reply" : "send"));
    form.append(
      summary,
      field(`${id}-name`, t("name"), h("input", { name: "name", type: "text", autocomplete: "nickname", required: true })),
      field(
        `${id}-email`,
        t("email"),
        h("input", { name: "email", type: "email", autocomplete: "email" }),
        `${t("email_hint")} ${t("email_notify_hint")}`,
      ),
      h(
        "div",
        { class: "tl-check" },
        h("input", { id: `${id}-notify`, name: "notify_replies", type: "checkbox" }),
        h("label", { for: `${id}-notify` }, t("notify")),
      ),
      // A field people never see (the hidden attribute, not only our stylesheet) and bots fill.
      h(
        "div",
        { class: "tl-hp", hidden: true },
        h("label", { for: `${id}-topic` }, t("honeypot")),
        h("input", { id: `${id}-topic`, name: "topic", type: "text", tabindex: "-1", autocomplete: "off" }),
      ),
      field(`${id}-body`, t(parent ? "reply_body" : "body"), h("textarea", { name: "body", rows: parent ? 4 : 6, required: true })),
      h("div", { class: "tl-buttons" }, submit, parent ? h("button", { type: "button", class: "tl-button tl-button--quiet", "data-cancel": "" }, t("cancel")) : null),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendComment(form, parent, { summary, notice, submit });
    });
    return { form, notice };
  }

  function clearErrors(form, summary) {
    for (const el of form.querySelectorAll(".tl-error")) {
      el.remove();
    }
    for (const el of form.querySelectorAll(".tl-field--error")) {
      el.classList.remove("tl-field--error");
    }
    for (const el of form.querySelectorAll("[aria-describedby]")) {
      el.removeAttribute("aria-invalid");
      const hint = el.getAttribute("aria-describedby") || "";
      const kept = hint.split(" ").filter((part) => part && !part.endsWith("-error")).join(" ");
      if (kept) {
        el.setAttribute("aria-describedby", kept);
      } else {
        el.removeAttribute("aria-describedby");
      }
    }
    summary.replaceChildren();
    summary.hidden = true;
  }

  function showErrors(form, summary, error, fields) {
    const items = [];
    for (const [name, messages] of Object.entries(fields || {})) {
      const text = [].concat(messages).join(" ");
      const wrapper = form.querySelector(`[data-field="${name}"]`);
      const control = wrapper ? wrapper.querySelector("input, textarea") : null;
      if (control) {
        // A group of choices (a fieldset) is described as a whole, its error under its legend.
        const group = wrapper.localName === "fieldset";
        const described = group ? wrapper : control;
        const errorId = `${control.id}-error`;
        const message = h("p", { class: "tl-error", id: errorId }, h("span", { class: "tl-visually-hidden" }, `${t("error_prefix")} `), text);
        wrapper.classList.add("tl-field--error");
        if (group) {
          wrapper.querySelector("legend").after(message);
        } else {
          control.before(message);
          control.setAttribute("aria-invalid", "true");
        }
        const before = described.getAttribute("aria-describedby");
        described.setAttribute("aria-describedby", before ? `${before} ${errorId}` : errorId);
        const label = wrapper.querySelector("label, legend").textContent;
        items.push(h("li", {}, h("a", { href: `#${control.id}`, onclick: (e) => { e.preventDefault(); control.focus(); } }, `${label}: ${text}`)));
      } else {
        items.push(h("li", {}, text));
      }
    }
    if (!items.length && error) {
      items.push(h("li", {}, error));
    }
    summary.replaceChildren(h("p", { class: "tl-summary__title" }, t("error_summary")), h("ul", {}, items));
    summary.hidden = false;
    summary.focus();
  }

  function say(notice, text) {
    notice.textContent = text;
    notice.hidden = false;
    notice.focus();
  }

  async function sendComment(form, parent, { summary, notice, submit }) {
    clearErrors(form, summary);
    notice.hidden = true;
    const values = new FormData(form);
    const body = {
      name: values.get("name") || "",
      body: values.get("body") || "",
      notify_replies: values.get("notify_replies") === "on",
      topic: values.get("topic") || "",
    };
    if (values.get("email")) {
      body.email = values.get("email");
    }
    if (parent) {
      body.parent_id = parent.id;
    }
    submit.disabled = true;
    submit.textContent = t("sending");
    try {
      const { status, data } = await request(`/api/v1/articles/${encodeURIComponent(key)}/comments`, body);
      if (status === 201) {
        form.querySelector("textarea").value = "";
        if (parent) {
          // The reply was taken: its form goes, the message about it stays.
          form.remove();
        }
        received(data, notice);
      } else if (status === 422 || status === 400) {
        showErrors(form, summary, data.error, data.fields);
      } else {
        showErrors(form, summary, problemText(status, data, "error_send"), null);
        if (status === 403 && state.embeddingAllowed) {
          // Most likely the article was closed meanwhile: show the thread as it is now.
          loadFirstPage();
        }
      }
    } catch (error) {
      showErrors(form, summary, failureText(error, "error_send"), null);
    } finally {
      submit.disabled = false;
      submit.textContent = t(parent ? "send_reply" : "send");
    }
  }

  // What happens after a comment was taken: review, or checks to wait for.
  function received(data, notice) {
    if (data.state === "awaiting_review") {
      say(notice, t("awaiting_review"));
      return;
    }
    say(notice, t("checking"));
    if (data.status_url) {
      // The server's own path: relative to where this script came from, not to BASE.
      poll(new URL(data.status_url, script.src).href, notice, 0);
    }
  }

  function poll(url, notice, times) {
    const fast = times < POLL_FAST_TIMES;
    if (times === POLL_FAST_TIMES) {
      notice.textContent = t("checking_later");
    }
    if (times >= POLL_FAST_TIMES + POLL_SLOW_TIMES) {
      return;
    }
    setTimeout(async () => {
      try {
        const { status, data } = await request(url);
        if (status === 200 && data.state === "published" && data.comment) {
          insertComment(data.comment);
          notice.textContent = t("published");
          return;
        }
      } catch (error) {
        // A blip: try again at the next tick.
      }
      poll(url, notice, times + 1);
    }, fast ? POLL_FAST_MS : POLL_SLOW_MS);
  }

  function insertComment(comment) {
    if (root.getElementById(`tl-c-${comment.id}`)) {
      return;
    }
    const isReply = comment.parent_id !== null && comment.parent_id !== undefined;
    const parentItem = isReply ? root.getElementById(`tl-c-${comment.parent_id}`) : null;
    if (isReply && parentItem) {
      const replies = parentItem.querySelector(".tl-replies");
      replies.append(renderEntry(comment, true));
      replies.hidden = false;
    } else if (!isReply) {
      parts.list.prepend(renderEntry(comment, false));
    }
    setCount(state.count + 1);
    parts.empty.hidden = true;
  }

  function openReply(comment, slot) {
    const { form, notice } = commentForm(comment);
    const heading = h("p", { class: "tl-form-title" }, t("reply_heading", { name: comment.author }));
    const box = h("div", { class: "tl-inline" }, heading, notice, form);
    form.querySelector("[data-cancel]").addEventListener("click", () => slot.replaceChildren());
    slot.replaceChildren(box);
    form.querySelector("input").focus();
  }

  function openReport(comment, slot) {
    const id = uid("report");
    const notice = h("div", { class: "tl-notice", role: "status", tabindex: "-1", hidden: true });
    const summary = h("div", { class: "tl-summary", role: "alert", tabindex: "-1", hidden: true });
    const legend = h("legend", { class: "tl-label" }, t("report_heading"));
    const reasons = h("fieldset", { class: "tl-field", "data-field": "reason" }, legend);
    for (const reason of REASONS) {
      reasons.append(
        h(
          "div",
          { class: "tl-check" },
          h("input", { type: "radio", name: "reason", value: reason, id: `${id}-${reason}` }),
          h("label", { for: `${id}-${reason}` }, t(`reason_${reason}`)),
        ),
      );
    }
    const submit = h("button", { type: "submit", class: "tl-button" }, t("report_send"));
    const form = h(
      "form",
      { class: "tl-form", novalidate: true },
      summary,
      reasons,
      field(`${id}-text`, t("report_text"), h("textarea", { name: "text", rows: 3 })),
      h("div", { class: "tl-buttons" }, submit, h("button", { type: "button", class: "tl-button tl-button--quiet", onclick: () => slot.replaceChildren() }, t("cancel"))),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form, summary);
      const values = new FormData(form);
      if (!values.get("reason")) {
        showErrors(form, summary, null, { reason: [t("report_choose")] });
        return;
      }
      submit.disabled = true;
      try {
        const body = { reason: values.get("reason"), text: values.get("text") || "" };
        const { status, data } = await request(`/api/v1/comments/${comment.id}/flags`, body);
        if (status === 202 || status === 200) {
          form.remove();
          say(notice, t(data.counted === false ? "report_again" : "report_thanks"));
        } else if (status === 422 || status === 400) {
          showErrors(form, summary, data.error, data.fields);
        } else {
          showErrors(form, summary, problemText(status, data, "error_send"), null);
        }
      } catch (error) {
        showErrors(form, summary, failureText(error, "error_send"), null);
      } finally {
        submit.disabled = false;
      }
    });
    slot.replaceChildren(h("div", { class: "tl-inline" }, notice, form));
    reasons.querySelector("input").focus();
  }

  function renderCompose() {
    const status = state.article.status;
    state.composeFor = status;
    if (status === "closed") {
      parts.compose.replaceChildren(h("p", { class: "tl-closed" }, t("closed")));
      return;
    }
    const { form, notice } = commentForm(null);
    const heading = h("h3", { class: "tl-form-title" }, t("form_heading"));
    parts.compose.replaceChildren(heading, notice, form);
    if (status === "premoderated") {
      heading.after(h("p", { class: "tl-premoderated" }, t("premoderated")));
    }
  }

  // ---- start -----------------------------------------------------------------------------

  function skeleton() {
    const heading = h("h2", { class: "tl-heading", id: "tl-heading" });
    const order = h(
      "select",
      { id: "tl-order", class: "tl-select" },
      ["newest", "oldest", "replies"].map((value) => h("option", { value }, t(`order_${value}`))),
    );
    order.value = state.order;
    order.addEventListener("change", () => {
      state.order = order.value;
      loadFirstPage();
    });
    const featuredList = h("ol", { class: "tl-list" });
    const featured = h("section", { class: "tl-featured", "aria-labelledby": "tl-featured-heading", hidden: true }, h("h3", { class: "tl-visually-hidden", id: "tl-featured-heading" }, t("featured_heading")), featuredList);
    const list = h("ol", { class: "tl-list" });
    const more = h("button", { type: "button", class: "tl-button tl-button--quiet tl-more", hidden: true, onclick: loadMore }, t("load_more"));
    const empty = h("p", { class: "tl-empty", hidden: true }, t("empty"));
    const compose = h("div", { class: "tl-compose" });
    const status = h("div", { class: "tl-status", role: "status", hidden: false }, h("p", {}, t("loading")));
    const body = h(
      "div",
      { class: "tl-body-wrap", hidden: true },
      h("div", { class: "tl-bar" }, heading, h("div", { class: "tl-order" }, h("label", { for: "tl-order" }, t("order_label")), order)),
      featured,
      list,
      more,
      empty,
      compose,
    );
    const section = h("section", { class: "tl", lang, "aria-label": t("region") }, status, body);
    parts = { heading, featured, featuredList, list, more, empty, compose, status, body };
    return section;
  }

  async function start() {
    const container = document.getElementById(options.target || "tipline-comments");
    if (!container) {
      return;
    }
    root = container.shadowRoot || container.attachShadow({ mode: "open" });
    const stylesheet = h("link", { rel: "stylesheet", href: `${BASE}/embed.css` });
    try {
      await loadMessages();
    } catch (error) {
      const status = h("div", { class: "tl-status", role: "status" });
      root.replaceChildren(stylesheet, h("section", { class: "tl", lang }, status));
      parts = { status };
      showStatus(t("error_load"), true);
      return;
    }
    root.replaceChildren(stylesheet, skeleton());
    await loadFirstPage();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  } else {
    start();
  }
})();
