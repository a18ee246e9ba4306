// The page: the key, the idea form, the caller's projects, and one project's run, live.
// Views are chosen by the URL's fragment: `#/` (home) and `#/projects/{id}`.

import { Api, ApiError, storedKey } from './api.js';
import { check, ideaOf, serverProblems, showCounts, showProblems, showWorkflowHelp } from './form.js';
import { LiveRun } from './live.js';
import { artifacts, el, sizeBars } from './render.js';

const $ = (id) => document.getElementById(id);
const STATE_TEXT = {
  CREATED: 'Queued',
  IDEA_VALIDATION: 'Validating the idea',
  ADVISORY: 'Writing the advice',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
};
const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];
const STEP_TEXT = { validator: 'Validation', advisory: 'Advice' };

let api = null;
let live = null;

function show(view) {
  document.body.dataset.view = view;
  $('key-panel').hidden = view !== 'key';
  $('home').hidden = view !== 'home';
  $('project').hidden = view !== 'project';
  $('forget-key').hidden = view === 'key';
}

function describe(error) {
  if (error.status === 429) {
    return `Too many requests: ${error.message}${error.retryAfter ? ` Try again in ${error.retryAfter} s.` : ''}`;
  }
  return error.message;
}

// A refused key sends the person back to the key form, saying why.
function keyRefused(error) {
  if (!(error instanceof ApiError) || error.status !== 401) return false;
  storedKey.clear();
  api = null;
  show('key');
  $('key-error').textContent = `This key was refused: ${error.message}`;
  $('key').focus();
  return true;
}

// ---- home: the form and the list -------------------------------------------------------

async function submitIdea(event) {
  event.preventDefault();
  const form = event.target;
  $('form-error').textContent = '';
  const problems = check(form);
  showProblems(form, problems);
  if (Object.keys(problems).length > 0) return;
  const button = $('submit');
  button.disabled = true;
  try {
    const created = await api.createProject(ideaOf(form));
    form.reset();
    showCounts(form);
    location.hash = `#/projects/${created.project_id}`;
  } catch (e) {
    if (keyRefused(e)) return;
    if (e instanceof ApiError && e.fields.length > 0) {
      const { problems: fromServer, loose } = serverProblems(e.fields);
      showProblems(form, fromServer);
      $('form-error').textContent = loose.join(' ');
    } else {
      $('form-error').textContent = describe(e);
    }
  } finally {
    button.disabled = false;
  }
}

let nextCursor = null;

async function loadProjects(more) {
  const list = $('project-list');
  if (!more) {
    list.replaceChildren();
    nextCursor = null;
  }
  $('list-error').textContent = '';
  try {
    const page = await api.listProjects(more ? nextCursor : null);
    for (const p of page.projects) {
      list.append(el('li', { 'data-project': p.project_id },
        el('a', { href: `#/projects/${p.project_id}`, text: p.name }),
        ' ', el('span', { class: `badge ${p.state.toLowerCase()}`, text: STATE_TEXT[p.state] || p.state }),
        ' ', el('time', { datetime: p.created_at, text: new Date(p.created_at).toLocaleString() })));
    }
    nextCursor = page.next_cursor || null;
    $('list-more').hidden = !nextCursor;
    $('list-empty').hidden = list.children.length > 0;
  } catch (e) {
    if (!keyRefused(e)) $('list-error').textContent = describe(e);
  }
}

// ---- one project, live -----------------------------------------------------------------

class RunView {
  constructor(projectId) {
    this.projectId = projectId;
    this.steps = new Map();
    this.finished = false;
    $('steps').replaceChildren();
    $('event-log').replaceChildren();
    $('event-count').textContent = '0';
    $('artifacts').replaceChildren();
    $('failure').hidden = true;
    $('connection').textContent = '';
    document.body.dataset.state = '';
  }

  step(name) {
    if (!this.steps.has(name)) {
      const row = el('li', { class: 'step', 'data-step': name },
        el('span', { class: 'step-name', text: STEP_TEXT[name] || name }),
        el('span', { class: 'step-state' }),
        el('span', { class: 'step-detail' }));
      $('steps').append(row);
      this.steps.set(name, row);
    }
    return this.steps.get(name);
  }

  setStep(name, state, detail) {
    const row = this.step(name);
    row.dataset.state = state;
    row.querySelector('.step-state').textContent = state;
    if (detail !== undefined) row.querySelector('.step-detail').textContent = detail;
  }

  // `live`: from an event. The body's data-state follows the event feed only, so it
  // says FAILED once the failure (and its reason) has been shown, not when a GET of an
  // already finished project arrived first.
  setState(state, progress, live = true) {
    if (live) document.body.dataset.state = state;
    // What the person may do next: retry a failed run, cancel one that has not ended.
    $('retry-run').hidden = state !== 'FAILED';
    $('cancel-run').hidden = TERMINAL.includes(state);
    const badge = $('project-state');
    badge.textContent = STATE_TEXT[state] || state;
    badge.className = `badge ${state.toLowerCase()}`;
    $('progress-bar').style.width = `${progress}%`;
    $('progress-text').textContent = `${STATE_TEXT[state] || state}: ${progress}%`;
  }

  onEvent(event) {
    $('event-log').append(el('li', { 'data-seq': event.seq },
      el('code', { text: `#${event.seq}` }), ' ', describeEvent(event)));
    $('event-count').textContent = String($('event-log').children.length);
    switch (event.event) {
      case 'status_update':
        this.setState(event.state, event.progress);
        if (event.current_step && !TERMINAL.includes(event.state)) {
          const row = this.step(event.current_step);
          if (row.dataset.state !== 'done') this.setStep(event.current_step, 'running');
        }
        if (event.state === 'FAILED') {
          const reason = event.error ? `${event.error.message} (${event.error.code})` : 'no reason was given';
          $('failure').textContent = `The run failed: ${reason}`;
          $('failure').hidden = false;
        }
        if (TERMINAL.includes(event.state)) {
          this.finished = true;
          this.refresh();
        }
        break;
      case 'step_complete':
        this.setStep(event.agent, 'done', `attempt ${event.attempt} · ${event.duration_s.toFixed(2)} s`);
        this.refresh();
        break;
      case 'project_deleted':
        this.finished = true;
        $('failure').textContent = 'This project was deleted.';
        $('failure').hidden = false;
        $('retry-run').hidden = true;
        $('cancel-run').hidden = true;
        break;
      case 'step_failed':
        this.setStep(event.agent, event.retryable ? 'retrying' : 'failed',
          `attempt ${event.attempt} failed: ${event.error.message}${event.retryable ? ' · retrying' : ''}`);
        break;
      default:
        break;
    }
  }

  // The artifacts are read from the project (events never carry them).
  async refresh() {
    try {
      const project = await api.project(this.projectId);
      const parts = artifacts(project);
      $('artifacts').replaceChildren(...parts);
      sizeBars($('artifacts'));
    } catch (e) {
      keyRefused(e);
    }
  }
}

function describeEvent(e) {
  switch (e.event) {
    case 'status_update':
      return `${STATE_TEXT[e.state] || e.state}${e.current_step ? ` (${e.current_step})` : ''}`;
    case 'step_complete':
      return `${e.agent} done, attempt ${e.attempt}, ${e.duration_s.toFixed(2)} s`;
    case 'step_failed':
      return `${e.agent} attempt ${e.attempt} failed${e.retryable ? ', will retry' : ''}: ${e.error.message}`;
    case 'project_deleted':
      return 'Deleted';
    default:
      return e.event;
  }
}

let openId = null;

async function openProject(id) {
  openId = id;
  $('action-error').hidden = true;
  show('project');
  const view = new RunView(id);
  let project;
  try {
    project = await api.project(id);
  } catch (e) {
    if (keyRefused(e)) return;
    $('project-title').textContent = 'Project not found';
    $('failure').textContent = describe(e);
    $('failure').hidden = false;
    return;
  }
  $('project-title').textContent = project.name;
  $('project-workflow').textContent = project.workflow
    ? `${project.workflow.name} (version ${project.workflow.version})` : '';
  document.title = `${project.name} · ZeroToShip`;
  view.setState(project.state, project.progress, false);
  // Every event from the first, replayed by the subscription, builds the timeline.
  live = new LiveRun(api, id, {
    onEvent: (event) => view.onEvent(event),
    onStatus: (text, kind) => {
      $('connection').textContent = text;
      $('connection').dataset.kind = kind;
    },
  }).start();
}

// ---- what a person can do to a project -------------------------------------------------

async function act(button, action) {
  $('action-error').hidden = true;
  button.disabled = true;
  try {
    await action(openId);
  } catch (e) {
    if (!keyRefused(e)) {
      $('action-error').textContent = describe(e);
      $('action-error').hidden = false;
    }
  } finally {
    button.disabled = false;
  }
}

// A retry: the new run's events follow the failed run's, so the view starts over and
// replays them all (live.js follows past a FAILED that a retry continued).
async function retryRun(id) {
  await api.retryProject(id);
  if (live) live.stop();
  await openProject(id);
}

// The cancel's own status_update reaches the page as an event; nothing else to do.
async function cancelRun(id) {
  await api.cancelProject(id);
}

// The key travels in a header, so the document is fetched and handed over as a file.
async function exportProject(id) {
  const document_ = await api.exportProject(id);
  const blob = new Blob([`${JSON.stringify(document_, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: `zerotoship-${id}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// Everything about the project goes, for good: asked once more, then back to the list.
async function deleteProject(id) {
  if (!window.confirm('Delete this project, its report, its advice and its history? This cannot be undone.')) return;
  await api.deleteProject(id);
  if (live) live.stop();
  location.hash = '#/';
}

// ---- routing ---------------------------------------------------------------------------

function route() {
  if (live) {
    live.stop();
    live = null;
  }
  const key = storedKey.get();
  if (!key) {
    show('key');
    return;
  }
  api = new Api(key);
  const match = /^#\/projects\/([0-9a-fA-F-]{36})$/.exec(location.hash);
  if (match) {
    openProject(match[1]);
  } else {
    document.title = 'ZeroToShip';
    show('home');
    loadProjects(false);
  }
}

function start() {
  const form = $('idea-form');
  form.addEventListener('submit', submitIdea);
  form.addEventListener('input', () => showCounts(form));
  showCounts(form);
  form.elements.workflow.addEventListener('change', () => showWorkflowHelp(form));
  showWorkflowHelp(form);
  $('list-more').addEventListener('click', () => loadProjects(true));
  $('retry-run').addEventListener('click', (e) => act(e.currentTarget, retryRun));
  $('cancel-run').addEventListener('click', (e) => act(e.currentTarget, cancelRun));
  $('export-project').addEventListener('click', (e) => act(e.currentTarget, exportProject));
  $('delete-project').addEventListener('click', (e) => act(e.currentTarget, deleteProject));
  $('key-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = $('key').value.trim();
    if (!key) {
      $('key-error').textContent = 'Paste the key first.';
      return;
    }
    $('key-error').textContent = '';
    storedKey.set(key);
    $('key').value = '';
    route();
  });
  $('forget-key').addEventListener('click', () => {
    storedKey.clear();
    route();
  });
  window.addEventListener('hashchange', route);
  route();
}

start();
