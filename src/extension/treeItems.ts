// How an element of a Sluice view looks, as the view models describe it
// (they import no `vscode`, so unit tests run them anywhere), and the one
// place that turns such a description into a vscode.TreeItem.
import * as vscode from 'vscode';

export interface ItemLook {
  /** Stable across refreshes, so expanded elements stay expanded. */
  readonly id: string;
  readonly label: string;
  readonly description: string | undefined;
  readonly tooltip: string;
  /** Drives the menus in package.json (`viewItem == …`). */
  readonly contextValue: string;
  readonly collapsible: 'none' | 'collapsed' | 'expanded';
  /** A codicon id, and a theme color id for it. */
  readonly icon: { readonly id: string; readonly color?: string | undefined };
}

const COLLAPSIBLE = {
  none: vscode.TreeItemCollapsibleState.None,
  collapsed: vscode.TreeItemCollapsibleState.Collapsed,
  expanded: vscode.TreeItemCollapsibleState.Expanded,
} as const;

export function treeItemOf(look: ItemLook): vscode.TreeItem {
  const item = new vscode.TreeItem(look.label, COLLAPSIBLE[look.collapsible]);
  item.id = look.id;
  if (look.description !== undefined) item.description = look.description;
  item.tooltip = look.tooltip;
  // Without it, screen readers read the tooltip, which for most elements does not start with their name.
  item.accessibilityInformation = {
    label: look.description === undefined ? look.label : `${look.label}, ${look.description}`,
  };
  item.contextValue = look.contextValue;
  item.iconPath = new vscode.ThemeIcon(
    look.icon.id,
    look.icon.color === undefined ? undefined : new vscode.ThemeColor(look.icon.color),
  );
  return item;
}
