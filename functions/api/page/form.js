// The idea form: the limits the API enforces (the server writes them into the page as
// data-limits) shown as counters and checked before sending; the server's field errors
// shown next to their field.

const LIMITS = Object.freeze(JSON.parse(document.body.dataset.limits));

const TEXT_FIELDS = { name: LIMITS.name, description: LIMITS.description, hypothesis: LIMITS.hypothesis };

// Characters as the server counts them (Unicode scalar values, not UTF-16 units).
const length = (text) => [...text].length;

export function avatarsOf(form) {
  return form.elements.target_avatars.value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

export function ideaOf(form) {
  const text = (name) => form.elements[name].value;
  return {
    name: text('name').trim(),
    description: text('description').trim(),
    hypothesis: text('hypothesis').trim(),
    target_avatars: avatarsOf(form),
    workflow: form.elements.workflow.value,
  };
}

// The chosen workflow's description under the list (the server writes each option's).
export function showWorkflowHelp(form) {
  const chosen = form.elements.workflow.selectedOptions[0];
  document.getElementById('workflow-help').textContent = chosen ? chosen.dataset.description : '';
}

// Problems the page can see before sending: {field: message}.
export function check(form) {
  const idea = ideaOf(form);
  const problems = {};
  if (idea.name.length === 0) problems.name = 'Give the idea a name.';
  for (const [field, max] of Object.entries(TEXT_FIELDS)) {
    const n = length(idea[field]);
    if (n > max) problems[field] = `${n} characters; the most is ${max}. Shorten it by ${n - max}.`;
  }
  const avatars = idea.target_avatars;
  if (avatars.length > LIMITS.avatars) {
    problems.target_avatars = `${avatars.length} customers; the most is ${LIMITS.avatars}.`;
  } else {
    const seen = new Set();
    avatars.forEach((avatar, i) => {
      if (problems.target_avatars) return;
      if (length(avatar) > LIMITS.avatar) {
        problems.target_avatars = `Line ${i + 1} has ${length(avatar)} characters; the most is ${LIMITS.avatar}.`;
      } else if (seen.has(avatar)) {
        problems.target_avatars = `Line ${i + 1} repeats "${avatar}".`;
      }
      seen.add(avatar);
    });
  }
  return problems;
}

// The field a server error names: `target_avatars[2]` belongs to `target_avatars`.
export function fieldOf(name) {
  const base = String(name || '').replace(/\[\d+\]$/, '');
  return base in TEXT_FIELDS || base === 'target_avatars' ? base : null;
}

export function serverProblems(fields) {
  const problems = {};
  const loose = [];
  for (const f of fields) {
    const field = fieldOf(f.field);
    const index = /\[(\d+)\]$/.exec(f.field || '');
    const message = index ? `Line ${Number(index[1]) + 1}: ${f.message}` : f.message;
    if (field) problems[field] = problems[field] ? `${problems[field]} ${message}` : message;
    else loose.push(message);
  }
  return { problems, loose };
}

export function showProblems(form, problems) {
  for (const field of [...Object.keys(TEXT_FIELDS), 'target_avatars']) {
    const input = form.elements[field];
    const slot = document.getElementById(`${field}-error`);
    const message = problems[field] || '';
    slot.textContent = message;
    input.setAttribute('aria-invalid', message ? 'true' : 'false');
  }
  const first = Object.keys(problems)[0];
  if (first) form.elements[first].focus();
}

export function showCounts(form) {
  for (const [field, max] of Object.entries(TEXT_FIELDS)) {
    const n = length(form.elements[field].value.trim());
    const slot = document.getElementById(`${field}-count`);
    slot.textContent = `${n} / ${max}`;
    slot.classList.toggle('over', n > max);
  }
  const n = avatarsOf(form).length;
  const slot = document.getElementById('target_avatars-count');
  slot.textContent = `${n} / ${LIMITS.avatars} customers, ${LIMITS.avatar} characters each`;
  slot.classList.toggle('over', n > LIMITS.avatars);
}
