// Topic and key templates: compile, render, sanitise and the load-time checks.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkTopicCanBeEmpty,
  compileTemplate,
  fileVars,
  renderTopic,
  TemplateError,
  unsetEnvNames,
  type TemplateVars,
} from '../src/config/templates.js';

function vars(filePath: string, overrides: Partial<TemplateVars> = {}): TemplateVars {
  return { input: 'nginx', host: 'web-1', file: fileVars(filePath), env: { TEAM: 'core' }, ...overrides };
}

describe('fileVars', () => {
  test('splits a path into path, name, stem (last extension off) and directory name', () => {
    assert.deepEqual(fileVars('/var/log/nginx/access.log'), {
      path: '/var/log/nginx/access.log',
      name: 'access.log',
      stem: 'access',
      dir: 'nginx',
    });
    assert.equal(fileVars('/var/log/app.log.1').stem, 'app.log');
    assert.equal(fileVars('/var/log/syslog').stem, 'syslog');
    assert.equal(fileVars('/home/u/.bashrc').stem, '.bashrc');
    assert.equal(fileVars('/x.log').dir, '');
  });
});

describe('compileTemplate and render', () => {
  test('fills every variable', () => {
    const t = compileTemplate('{input}|{host}|{file.path}|{file.name}|{file.stem}|{file.dir}|{env.TEAM}', 'key');
    assert.equal(t.render(vars('/var/log/nginx/access.log')), 'nginx|web-1|/var/log/nginx/access.log|access.log|access|nginx|core');
    assert.equal(t.usesFile, true);
    assert.deepEqual(t.envNames, ['TEAM']);
  });

  test('usesFile is false when no file variable is used', () => {
    assert.equal(compileTemplate('logs.{input}.{host}', 'topic').usesFile, false);
  });

  test('rejects unknown variables, unbalanced braces and bad env names', () => {
    assert.throws(() => compileTemplate('logs.{inptu}', 'topic'), { name: 'TemplateError', message: /unknown variable \{inptu\} at column 6/ });
    assert.throws(() => compileTemplate('logs.{input', 'topic'), /unclosed "\{" at column 6/);
    assert.throws(() => compileTemplate('logs.{a{input}', 'key'), /unclosed "\{"/);
    assert.throws(() => compileTemplate('logs.input}', 'key'), /"\}" without "\{" at column 11/);
    assert.throws(() => compileTemplate('{env.1X}', 'key'), /not an environment variable name/);
    assert.throws(() => compileTemplate('{}', 'key'), /unknown variable \{\}/);
  });

  test('topic literals must be legal Kafka characters; key literals may be anything', () => {
    assert.throws(() => compileTemplate('logs/{input}', 'topic'), /illegal character "\/" at column 5/);
    assert.throws(() => compileTemplate('logs {input}', 'topic'), /illegal character " "/);
    assert.equal(compileTemplate('host: {host}/x', 'key').render(vars('/a/b')), 'host: web-1/x');
  });

  test('a topic whose literal text alone exceeds 249 characters is rejected', () => {
    assert.doesNotThrow(() => compileTemplate('a'.repeat(249) + '{input}', 'topic'));
    assert.throws(() => compileTemplate('a'.repeat(250) + '{input}', 'topic'), /250 characters; a topic is at most 249/);
  });

  test('render throws when an env variable is unset at render time', () => {
    const t = compileTemplate('{env.GONE}', 'key');
    assert.throws(() => t.render(vars('/a/b')), (e: unknown) => e instanceof TemplateError && /GONE is not set/.test(e.message));
  });
});

describe('renderTopic', () => {
  test('sanitises every character outside [a-zA-Z0-9._-] to "_"', () => {
    const t = compileTemplate('logs.{file.path}', 'topic');
    assert.equal(renderTopic(t, vars('/var/log/my app/ü.log')), 'logs._var_log_my_app__.log');
  });

  test('an astral character becomes one "_", not two', () => {
    const t = compileTemplate('{file.stem}', 'topic');
    assert.equal(renderTopic(t, vars('/l/a😀b.log')), 'a_b');
  });

  test('truncates to 249 characters', () => {
    const t = compileTemplate('logs.{file.stem}', 'topic');
    const topic = renderTopic(t, vars(`/l/${'x'.repeat(400)}.log`));
    assert.equal(topic.length, 249);
    assert.equal(topic, 'logs.' + 'x'.repeat(244));
  });

  test('throws when the rendering is empty, "." or ".."', () => {
    const t = compileTemplate('{file.dir}', 'topic');
    assert.throws(() => renderTopic(t, vars('/x.log')), /rendered "" for \/x\.log/);
    const stem = compileTemplate('{file.stem}', 'topic');
    assert.throws(() => renderTopic(stem, vars('/l/..log')), /rendered "\."/);
    assert.throws(() => renderTopic(stem, vars('/l/...log')), /rendered "\.\."/);
    assert.equal(renderTopic(stem, vars('/l/....log')), '...');
  });
});

describe('load-time topic checks', () => {
  const env = { EMPTY: '', DOT: '.', NAME: 'team' };
  const canBeEmpty = (source: string): boolean => {
    try {
      checkTopicCanBeEmpty(compileTemplate(source, 'topic'), env);
      return false;
    } catch (error) {
      assert.ok(error instanceof TemplateError);
      return true;
    }
  };

  test('rejects templates that can render "", "." or ".."', () => {
    assert.equal(canBeEmpty('{file.dir}'), true);
    assert.equal(canBeEmpty('{env.EMPTY}'), true);
    assert.equal(canBeEmpty('{env.DOT}{file.dir}.'), true);
    assert.equal(canBeEmpty('..'), true);
  });

  test('accepts templates that always render a legal name', () => {
    assert.equal(canBeEmpty('logs.{file.dir}'), false);
    assert.equal(canBeEmpty('{input}'), false);
    assert.equal(canBeEmpty('{file.stem}'), false);
    assert.equal(canBeEmpty('{env.NAME}{file.dir}'), false);
    assert.equal(canBeEmpty('...'), false);
    assert.equal(canBeEmpty('{env.DOT}{env.DOT}{env.DOT}'), false);
  });

  test('unsetEnvNames lists the variables a template needs but env lacks', () => {
    assert.deepEqual(unsetEnvNames(compileTemplate('{env.NAME}.{env.A}.{env.B}', 'topic'), env), ['A', 'B']);
  });
});
