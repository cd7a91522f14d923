import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** One construction of a DomainError whose code (and status, when fixed) is written in the source. */
export interface ErrorSite {
  code: string;
  /** null when the status is computed at run time. */
  status: number | null;
  where: string;
}

interface ClassInfo {
  parent: string | null;
  params: ts.ParameterDeclaration[];
  superArgs: readonly ts.Expression[] | null;
}

/**
 * Reads every `.ts` file under `srcDir`, finds the classes that extend DomainError (at any depth)
 * and every `new X(...)` of them, and follows the arguments through the constructors' `super`
 * calls to the code and status DomainError receives. A code that is not a literal (an agent's code
 * passed through) cannot be read here; the exception filter checks those at run time.
 */
export function scanErrorSites(srcDir: string): ErrorSite[] {
  const files = listTs(srcDir).map((f) =>
    ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.ES2022, true),
  );
  const classes = new Map<string, ClassInfo>();
  for (const sf of files)
    visit(sf, (node) => {
      if (!ts.isClassDeclaration(node) || !node.name) return;
      const heritage = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0];
      const ctor = node.members.find(ts.isConstructorDeclaration);
      let superArgs: readonly ts.Expression[] | null = null;
      if (ctor?.body)
        visit(ctor.body, (n) => {
          if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.SuperKeyword) superArgs = n.arguments;
        });
      classes.set(node.name.text, {
        parent: heritage ? heritage.expression.getText() : null,
        params: ctor ? [...ctor.parameters] : [],
        superArgs,
      });
    });
  const isFamily = (name: string): boolean => {
    for (let c: string | null = name, depth = 0; c && depth < 20; c = classes.get(c)?.parent ?? null, depth++)
      if (c === 'DomainError') return true;
    return false;
  };

  const sites: ErrorSite[] = [];
  for (const sf of files)
    visit(sf, (node) => {
      if (!ts.isNewExpression(node) || !ts.isIdentifier(node.expression)) return;
      const name = node.expression.text;
      if (!isFamily(name)) return;
      const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
      const where = `${relative(srcDir, sf.fileName)}:${line + 1}`;
      for (const r of resolve(name, node.arguments ?? [], classes)) {
        for (const code of r.codes) sites.push({ code, status: r.status, where });
      }
    });
  return sites;
}

type Bound = Map<string, ts.Expression | undefined>;

/** The literal codes and the status that `new name(args)` hands to DomainError. */
function resolve(
  name: string,
  args: readonly (ts.Expression | undefined)[],
  classes: Map<string, ClassInfo>,
): { codes: string[]; status: number | null }[] {
  if (name === 'DomainError') {
    const statuses = numbers(args[2]);
    const codes = strings(args[1]);
    return statuses.length === 1 ? [{ codes, status: statuses[0] ?? null }] : [{ codes, status: null }];
  }
  const info = classes.get(name);
  if (!info?.parent || !info.superArgs) return [];
  const bound: Bound = new Map(info.params.map((p, i) => [p.name.getText(), args[i] ?? p.initializer]));
  return resolve(
    info.parent,
    info.superArgs.map((a) => substitute(a, bound)),
    classes,
  );
}

/** A constructor parameter used as a super argument stands for the caller's argument. */
function substitute(expr: ts.Expression, bound: Bound): ts.Expression | undefined {
  if (ts.isIdentifier(expr) && bound.has(expr.text)) return bound.get(expr.text);
  return expr;
}

function strings(expr: ts.Expression | undefined): string[] {
  if (!expr) return [];
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr))
    return /^[a-z][a-z0-9_]*$/.test(expr.text) ? [expr.text] : [];
  if (ts.isConditionalExpression(expr)) return [...strings(expr.whenTrue), ...strings(expr.whenFalse)];
  if (ts.isParenthesizedExpression(expr)) return strings(expr.expression);
  return [];
}

function numbers(expr: ts.Expression | undefined): number[] {
  if (!expr) return [];
  if (ts.isNumericLiteral(expr)) return [Number(expr.text)];
  if (ts.isConditionalExpression(expr)) return [...numbers(expr.whenTrue), ...numbers(expr.whenFalse)];
  return [];
}

function visit(node: ts.Node, fn: (n: ts.Node) => void): void {
  fn(node);
  node.forEachChild((c) => visit(c, fn));
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}
