import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * How `func build` with pack picks the files it sends, so the rehearsal sends the same ones:
 * knative/func pkg/functions/client.go ParseFuncIgnore (lines of .funcignore, trimmed, without blanks and
 * comments) → pkg/buildpacks/builder.go (the build's excludes) → buildpacks/pack pkg/client/build.go
 * getFileFilter and pkg/archive/archive.go WriteDirToTar (every file's path relative to the project,
 * tested with sabhiram/go-gitignore 525f6e1). The matcher is a port of that library's
 * getPatternFromLine and MatchesPathHow (ignore.go), quirks included: a line without a leading slash
 * matches at any depth, a pattern also matches everything below what it names, and a `!` line only
 * re-includes what an earlier line excluded.
 */
export function funcIgnorePatterns(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

interface Pattern {
  regex: RegExp;
  negate: boolean;
}

function compile(input: string): Pattern {
  let line = input.replace(/\r+$/, '').trim();
  let negate = false;
  if (line.startsWith('!')) {
    negate = true;
    line = line.slice(1);
  }
  if (/^(#|!)/.test(line)) line = line.slice(1);
  if (/([^/+])\/.*\*\./.test(line) && !line.startsWith('/')) line = `/${line}`;
  line = line.replace(/\./g, '\\.');
  const magicStar = '#$~';
  if (line.startsWith('/**/')) line = line.slice(1);
  line = line.replace(/\/\*\*\//g, '(/|/.+/)');
  line = line.replace(/\*\*\//g, `(|.${magicStar}/)`);
  line = line.replace(/\/\*\*/g, `(|/.${magicStar})`);
  line = line.replace(/\\\*/g, `\\${magicStar}`);
  line = line.replace(/\*/g, '([^/]*)');
  line = line.replaceAll('?', '\\?');
  line = line.replaceAll(magicStar, '*');
  let expr = line.endsWith('/') ? `${line}(|.*)$` : `${line}(|/.*)$`;
  expr = expr.startsWith('/') ? `^(|/)${expr.slice(1)}` : `^(|.*/)${expr}`;
  return { regex: new RegExp(expr), negate };
}

/** `(relativePath) => true` when pack leaves the file out. */
export function packExcludes(patterns: string[]): (path: string) => boolean {
  const compiled = patterns.map(compile);
  return (path) => {
    let matches = false;
    for (const { regex, negate } of compiled) {
      if (!regex.test(path)) continue;
      if (!negate) matches = true;
      else if (matches) matches = false;
    }
    return matches;
  };
}

/**
 * Copies what pack would send from `root` into `target` and returns the relative paths. pack walks every
 * directory and tests each path; with no `!` line an excluded directory excludes all below it (every
 * pattern also matches what lies under what it names), so its subtree is skipped here unread.
 */
export function copyAsPackSends(root: string, target: string, patterns: string[]): string[] {
  const excluded = packExcludes(patterns);
  const canPrune = !patterns.some((pattern) => pattern.startsWith('!'));
  const sent: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!(canPrune && excluded(path))) walk(path);
      } else if (!excluded(path) && (entry.isFile() || entry.isSymbolicLink())) {
        mkdirSync(dirname(join(target, path)), { recursive: true });
        copyFileSync(join(root, path), join(target, path));
        sent.push(path);
      }
    }
  };
  walk('');
  return sent.sort();
}

export function readFuncIgnore(root: string): string[] {
  return funcIgnorePatterns(readFileSync(join(root, '.funcignore'), 'utf8'));
}
