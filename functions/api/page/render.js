// The artifacts as a person reads them. Every piece of text goes in through textContent
// (never innerHTML): an idea's text is the founder's, and a report quotes it.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const VERDICTS = { insufficient: 'Insufficient', needs_work: 'Needs work', promising: 'Promising', strong: 'Strong' };
const CALLS = { go: 'Go', pivot: 'Pivot', stop: 'Stop' };
const KINDS = { strength: 'Strength', gap: 'Gap', risk: 'Risk' };

function scoreBar(label, score, max) {
  const pct = Math.round((100 * score) / max);
  return el('div', { class: 'score' },
    el('div', { class: 'score-label' }, el('span', { text: label }), el('span', { class: 'score-value', text: `${score}/${max}` })),
    el('div', { class: 'meter', role: 'meter', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': max, 'aria-valuenow': score },
      el('div', { class: `fill ${pct >= 70 ? 'high' : pct >= 40 ? 'mid' : 'low'}`, 'data-pct': pct })));
}

function finding(f) {
  return el('li', { class: `finding ${f.kind}` },
    el('span', { class: 'kind', text: KINDS[f.kind] || f.kind }), ' ', f.text,
    f.evidence ? el('blockquote', { class: 'evidence', text: f.evidence }) : null);
}

export function validationReport(report) {
  return el('section', { class: 'card artifact', id: 'validation-report', 'aria-labelledby': 'vr-title' },
    el('h3', { id: 'vr-title', text: 'Validation' }),
    scoreBar(`Overall: ${VERDICTS[report.verdict] || report.verdict}`, report.overall_score, 100),
    el('p', { class: 'summary', text: report.summary }),
    el('h4', { text: 'Criteria' }),
    el('ul', { class: 'criteria' }, report.criteria.map((c) =>
      el('li', { class: 'criterion', 'data-criterion': c.id },
        scoreBar(c.weight ? `${c.name} (weight ${c.weight}%)` : c.name, c.score, 10),
        c.findings.length ? el('ul', { class: 'findings' }, c.findings.map(finding)) : null))),
    report.risk_flags.length ? el('h4', { text: 'Risk flags' }) : null,
    report.risk_flags.length ? el('ul', { class: 'risks' }, report.risk_flags.map((r) =>
      el('li', {}, el('strong', { text: r.domain }), ': ', r.note, el('blockquote', { class: 'evidence', text: r.evidence })))) : null,
    report.assumptions.length ? el('h4', { text: 'Assumptions to test' }) : null,
    report.assumptions.length ? el('ul', { class: 'assumptions' }, report.assumptions.map((a) =>
      el('li', { id: `assumption-${a.id}` }, el('strong', { text: a.statement }), el('br'), a.test))) : null);
}

// `assumptions`: the validation report's, by id, so an experiment says what it tests.
export function advisoryPlan(plan, assumptions = new Map()) {
  const call = plan.decision.call;
  return el('section', { class: 'card artifact', id: 'advisory-plan', 'aria-labelledby': 'ap-title' },
    el('h3', { id: 'ap-title', text: 'Advice' }),
    el('p', { class: `decision ${call}` }, el('span', { class: 'call', text: CALLS[call] || call }), ' ', plan.decision.rationale),
    el('h4', { text: 'Recommendations, most important first' }),
    el('ol', { class: 'recommendations' }, [...plan.recommendations].sort((a, b) => a.rank - b.rank).map((r) =>
      el('li', {}, el('strong', { text: r.action }), el('p', { class: 'answers', text: `Answers: ${r.answers}` })))),
    plan.experiments.length ? el('h4', { text: 'Experiments' }) : null,
    plan.experiments.length ? el('ul', { class: 'experiments' }, plan.experiments.map((x) =>
      el('li', { class: 'experiment' },
        el('strong', { text: `${x.method} with ${x.avatar}` }),
        el('p', { text: x.description }),
        el('dl', {},
          el('dt', { text: 'Success metric' }), el('dd', { class: 'metric', text: x.success_metric }),
          el('dt', { text: 'Tests' }), el('dd', { class: 'tests', text: assumptions.has(x.tests) ? `${x.tests}: ${assumptions.get(x.tests)}` : x.tests }),
          el('dt', { text: 'Cost' }), el('dd', { text: x.cost }),
          el('dt', { text: 'Duration' }), el('dd', { text: x.duration }))))) : null,
    plan.risks.length ? el('h4', { text: 'Risks and mitigations' }) : null,
    plan.risks.length ? el('ul', { class: 'mitigations' }, plan.risks.map((m) =>
      el('li', {}, el('strong', { text: m.risk }), ': ', m.mitigation))) : null,
    el('h4', { text: 'Next milestone' }),
    el('p', { class: 'milestone', text: plan.next_milestone }));
}

// Both artifacts of a project (GET /api/v1/projects/{id}), in pipeline order.
export function artifacts(project) {
  const parts = [];
  const validator = project.artifacts && project.artifacts.validator;
  const advisory = project.artifacts && project.artifacts.advisory;
  const assumptions = new Map((validator ? validator.content.assumptions : []).map((a) => [a.id, a.statement]));
  if (validator) parts.push(validationReport(validator.content));
  if (advisory) parts.push(advisoryPlan(advisory.content, assumptions));
  return parts;
}

// Bar widths are set through the CSSOM, which the policy allows (a style attribute in
// markup it would refuse).
export function sizeBars(root) {
  for (const fill of root.querySelectorAll('.fill[data-pct]')) {
    fill.style.width = `${Number(fill.dataset.pct)}%`;
  }
}
