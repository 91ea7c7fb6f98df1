"""The screen's one message catalogue: every user-visible string of the
screen, in English and in Portuguese (the seed notebook's language).

The English text is the key: code writes ``tr("already at the first step")``
and reads naturally; with Portuguese chosen, ``tr`` returns the entry of
``PT``. Values are filled in after the lookup (``tr("t = {t}", t=3)``), so a
translation may move them, and text from a file (a token, a path) is never
looked up or formatted itself.

The language is one per process, chosen once at start-up: ``--lang`` on the
screen commands, else the locale (``language_from_environment``), else
English. It is a module value rather than something threaded through every
widget because bindings' descriptions, the footer, help and palette are all
read at render time and must agree.

This module imports only the standard library and ``core.text`` (the
``Message`` the debugger's words arrive in).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..core.text import Message

#: The languages the screen speaks.
LANGUAGES = ("en", "pt")

_current = "en"

#: English text → Portuguese text. Grouped by the part of the screen that
#: shows it; keep each group's entries together.
PT: dict[str, str] = {
    # -- shared words -----------------------------------------------------
    "step": "passo",
    "unit": "unidade",
    "layer": "camada",
    "continue": "seguir",
    "diff": "comparar",
    "layer {k}": "camada {k}",
    "unit {unit}": "unidade {unit}",
    "run {run}": "execução {run}",
    "unknown error": "erro desconhecido",
    "screenshot": "captura de tela",
    "masked": "mascarado",
    "token": "token",
    "next": "próxima",
    "model": "modelo",
    "timeline": "linha do tempo",
    "breakpoints": "pontos de parada",
    "health": "saúde",
    "watches": "observadas",
    "keys": "teclas",
    "the": "de",
    # -- keys: footer, help and palette (the bindings' descriptions) --------
    "Quit": "Sair",
    "Command palette": "Paleta de comandos",
    "Step back": "Passo anterior",
    "Step forward": "Próximo passo",
    "First step": "Primeiro passo",
    "Last step": "Último passo",
    "Back 10 steps": "Voltar 10 passos",
    "Forward 10 steps": "Avançar 10 passos",
    "Go to step": "Ir para o passo",
    "Previous unit": "Unidade anterior",
    "Next unit": "Próxima unidade",
    "Previous layer": "Camada anterior",
    "Next layer": "Próxima camada",
    "Break": "Parada",
    "Add a breakpoint condition": "Adicionar uma condição de parada",
    "Continue to next hit": "Seguir até a próxima parada",
    "Continue back to previous hit": "Voltar até a parada anterior",
    "Show A, B or B−A": "Mostrar A, B ou B−A",
    "Go to first divergence": "Ir para a primeira divergência",
    "Search tokens": "Buscar tokens",
    "Next match": "Próxima ocorrência",
    "Previous match": "Ocorrência anterior",
    "Watch / unwatch unit": "Observar / deixar de observar a unidade",
    "Show explain pane": "Mostrar o painel explicar",
    "Show breakpoints": "Mostrar os pontos de parada",
    "Show health findings": "Mostrar os achados de saúde",
    "Show watches": "Mostrar as unidades observadas",
    "Next pane": "Próximo painel",
    "Previous pane": "Painel anterior",
    "Zoom pane": "Ampliar painel",
    "Zoom the focused pane, or back (Esc too)": "Ampliar o painel em foco, ou voltar (Esc também)",
    "Model panel": "Painel do modelo",
    "Open trace file": "Abrir arquivo de registro",
    "Toggle theme": "Alternar tema",
    "Redraw screen": "Redesenhar a tela",
    "Write the whole screen again (after another program wrote over it)":
        "Escrever a tela inteira de novo (depois que outro programa escreveu por cima)",
    "Save screenshot": "Salvar captura de tela",
    "Help": "Ajuda",
    "Previous item": "Item anterior",
    "Next item": "Próximo item",
    "On/off": "Liga/desliga",
    "Enable / disable breakpoint": "Ativar / desativar o ponto de parada",
    "Delete": "Apagar",
    "Delete breakpoint": "Apagar o ponto de parada",
    "Next hit": "Próxima parada",
    "Go to the breakpoint's next hit": "Ir para a próxima parada deste ponto",
    "Go there": "Ir lá",
    "Go to the finding": "Ir para o achado",
    "Select": "Selecionar",
    "Select the watched unit": "Selecionar a unidade observada",
    "Unpin": "Desafixar",
    "Unpin the watched unit": "Desafixar a unidade observada",
    "Cancel": "Cancelar",
    "Open another trace": "Abrir outro registro",
    "Close help": "Fechar a ajuda",
    "Back to the panes": "Voltar aos painéis",
    # -- help screen ------------------------------------------------------
    "Lesson": "Lição",
    "Stepping": "Passos",
    "Units and layers": "Unidades e camadas",
    "Debugging": "Depuração",
    "Panes": "Painéis",
    "Explain pane": "Painel explicar",
    "Breakpoints, health and watches panes": "Painéis de paradas, saúde e observadas",
    "App": "Aplicativo",
    "Other": "Outras",
    "Esc, q or ? to close": "Esc, q ou ? para fechar",
    "Reserved (coming)": "Reservadas (em breve)",
    "← → step wherever the focus is, except in the model panel's input (Esc leaves it). ↑ ↓ select a unit, "
    "except in the explain pane, which they scroll, and in the lists, where they move. A key that cannot act "
    "says why in the status line.":
        "← → avançam e voltam o passo onde quer que esteja o foco, exceto no campo do painel do modelo (Esc "
        "sai dele). ↑ ↓ escolhem uma unidade, exceto no painel explicar, que elas rolam, e nas listas, onde "
        "elas se movem. Uma tecla que não pode agir diz por quê na linha de estado.",
    # -- command palette --------------------------------------------------
    "key {keys}": "tecla {keys}",
    "Switch to {layer}": "Mudar para {layer}",
    "show layer {k}": "mostrar a camada {k}",
    "show layer {k} (current)": "mostrar a camada {k} (atual)",
    "Search for commands…": "Buscar comandos…",
    # Textual's own palette commands (``LstmTuiApp.get_system_commands``).
    "Theme": "Tema",
    "Change the current theme": "Mudar o tema atual",
    "Quit the application as soon as possible": "Sair do aplicativo o quanto antes",
    "Keys": "Teclas",
    "Show help for the focused widget and a summary of available keys":
        "Mostrar a ajuda do elemento em foco e um resumo das teclas disponíveis",
    "Hide the keys and widget help panel": "Esconder o painel de teclas e ajuda",
    "Minimize": "Restaurar",
    "Minimize the widget and restore to normal size": "Restaurar o elemento ao tamanho normal",
    "Maximize": "Ampliar",
    "Maximize the focused widget": "Ampliar o elemento em foco",
    "Screenshot": "Captura de tela",
    "Save an SVG 'screenshot' of the current screen": "Salvar uma captura da tela atual em SVG",
    # Textual's own keys, on every app and screen (its key panel lists them).
    "Copy selected text": "Copiar o texto selecionado",
    "Focus Next": "Foco no próximo",
    "Focus Previous": "Foco no anterior",
    "Quit the app and return to the command prompt.": "Sair do aplicativo e voltar ao prompt de comando.",
    # -- status line ------------------------------------------------------
    "t = {t} of 0…{last}": "t = {t} de 0…{last}",
    "layer {k} ({name}, {units} units)": "camada {k} ({name}, {units} unidades)",
    "layer {k} ({name}, {units} units, reversed)": "camada {k} ({name}, {units} unidades, invertida)",
    "L{k} {name} {units}u": "C{k} {name} {units}u",
    " rev": " inv",
    "(unnamed trace)": "(registro sem nome)",
    "diff vs": "comparando com",
    "z zooms a pane: Tab to one first": "z amplia um painel: vá a um com Tab antes",
    # -- status notes from the debugging session (debug/session.py) ---------
    "already at the first step (t = 0)": "já no primeiro passo (t = 0)",
    "already at the last step (t = {t})": "já no último passo (t = {t})",
    "only one step in this trace": "este registro tem um só passo",
    "this layer has one unit": "esta camada tem uma só unidade",
    "already at the first unit (0)": "já na primeira unidade (0)",
    "already at the last unit ({unit})": "já na última unidade ({unit})",
    "only one layer in this trace": "este registro tem uma só camada",
    "already at the first layer (0)": "já na primeira camada (0)",
    "already at the last layer ({layer})": "já na última camada ({layer})",
    "no breakpoints: press b to add one": "nenhum ponto de parada: b adiciona um",
    "no breakpoint enabled (B lists them)": "nenhum ponto de parada ativo (B os lista)",
    "this trace has no tokens to search": "este registro não tem tokens para buscar",
    "no search yet: / searches the tokens": "nenhuma busca ainda: / busca nos tokens",
    "no second run (lstm-tui view A --diff B)": "não há segunda execução (lstm-tui view A --diff B)",
    "still comparing the two runs": "ainda comparando as duas execuções",
    "no divergence between the two runs": "as duas execuções não divergem",
    "already a breakpoint: {source}": "já é um ponto de parada: {source}",
    "breakpoint {source}: {n} hit on layer {k}": "ponto de parada {source}: {n} parada na camada {k}",
    "breakpoint {source}: {n} hits on layer {k}": "ponto de parada {source}: {n} paradas na camada {k}",
    "no enabled breakpoint holds on layer {k}": "nenhum ponto de parada ativo vale na camada {k}",
    "no earlier hit: this is the first": "nenhuma parada antes: esta é a primeira",
    "no later hit: this is the last": "nenhuma parada depois: esta é a última",
    "no earlier hit: the first is at t = {t}": "nenhuma parada antes: a primeira é em t = {t}",
    "no later hit: the last is at t = {t}": "nenhuma parada depois: a última é em t = {t}",
    "stopped: {source} (hit {hit} of {hits})": "parado: {source} (parada {hit} de {hits})",
    "stopped: {source} (hit {hit} of {hits}) · {also} more hold here":
        "parado: {source} (parada {hit} de {hits}) · mais {also} valem aqui",
    "search {query!r}: match {nth} of {total}, token {token!r}":
        "busca {query!r}: ocorrência {nth} de {total}, token {token!r}",
    "search: {why}": "busca: {why}",
    "search {query!r}: no token matches": "busca {query!r}: nenhum token corresponde",
    "search {query!r}: no match at or after t = {t} (N goes back)":
        "busca {query!r}: nada em t = {t} nem depois (N volta)",
    "search {query!r}: no earlier match": "busca {query!r}: nenhuma ocorrência antes",
    "search {query!r}: no later match": "busca {query!r}: nenhuma ocorrência depois",
    "unit {unit} of layer {k} no longer watched": "unidade {unit} da camada {k} não é mais observada",
    "watching unit {unit} of layer {k}": "observando a unidade {unit} da camada {k}",
    "first divergence: {vector}[{unit}] A {a}, B {b}": "primeira divergência: {vector}[{unit}] A {a}, B {b}",
    "the trace has no tokens to search": "o registro não tem tokens para buscar",
    "nothing to search for": "nada para buscar",
    # Health findings (debug/health.py).
    "layer {k}: unit {u} is dead: |h| < {tol:g} at every step (largest {h:.3g})":
        "camada {k}: a unidade {u} está morta: |h| < {tol:g} em todos os passos (maior {h:.3g})",
    "layer {k}: largest |c| is {value:.4g} at step {t}, unit {u}":
        "camada {k}: o maior |c| é {value:.4g}, no passo {t}, unidade {u}",
    "layer {k}: the initial state {v}[{u}] is {what}": "camada {k}: o estado inicial {v}[{u}] é {what}",
    "layer {k}: {what} at step {t} in {v}[{u}] (NaN or Inf at {n} of {T} steps)":
        "camada {k}: {what} no passo {t} em {v}[{u}] (NaN ou Inf em {n} de {T} passos)",
    "layer {k}: {what} at step {t} in {v}[{u}] (NaN or Inf at {n} of {T} step)":
        "camada {k}: {what} no passo {t} em {v}[{u}] (NaN ou Inf em {n} de {T} passo)",
    "layer {k}: exploding cell state from step {t}: |c[{u}]| = {value}, over {explode:g}× the layer's typical "
    "|c| of {typical}":
        "camada {k}: a memória explode a partir do passo {t}: |c[{u}]| = {value}, mais de {explode:g}× o |c| "
        "típico da camada, {typical}",
    "{finding}; peak {peak} at step {t}, unit {u}": "{finding}; pico {peak} no passo {t}, unidade {u}",
    "{finding}; beyond on {n} of {live} steps": "{finding}; acima disso em {n} de {live} passos",
    "{finding}; beyond on {n} of {live} step": "{finding}; acima disso em {n} de {live} passo",
    "layer {k}: input outlier at step {t}: x[{j}] = {value}, median {median}, typical spread {spread} "
    "(threshold {threshold:g} spreads)":
        "camada {k}: valor atípico na entrada no passo {t}: x[{j}] = {value}, mediana {median}, dispersão "
        "típica {spread} (limiar de {threshold:g} dispersões)",
    "layer {k}: input outliers from step {t}: x[{j}] = {value}, median {median}, typical spread {spread} "
    "(threshold {threshold:g} spreads); on {n} steps, largest {largest} at step {worst}":
        "camada {k}: valores atípicos na entrada a partir do passo {t}: x[{j}] = {value}, mediana {median}, "
        "dispersão típica {spread} (limiar de {threshold:g} dispersões); em {n} passos, o maior {largest} no "
        "passo {worst}",
    "layer {k}: unit {u} {gate} saturated ({side}) on {pct} of steps, from step {since}":
        "camada {k}: unidade {u}, {gate} saturada ({side}) em {pct} dos passos, a partir do passo {since}",
    "forget gate": "porta de esquecimento",
    "input gate": "porta de entrada",
    "< {low:g} or > {high:g}": "< {low:g} ou > {high:g}",
    # A group too long to list: "layer 0: 120 dead units; the 10 deadest follow".
    "layer {k}: {n:,} {what}; the {limit} {most} follow (lstm-tui health --all lists every one)":
        "camada {k}: {n:,} {what}; seguem as {limit} {most} (lstm-tui health --all lista todas)",
    "units with the {gate} saturated": "unidades com a {gate} saturada",
    "dead units": "unidades mortas",
    "input features with outliers": "características de entrada com valores atípicos",
    "most saturated": "mais saturadas",
    "deadest": "mais mortas",
    "furthest": "mais distantes",
    # Condition errors (debug/conditions.py), after "column N: ".
    "{what} has {w} value (0…{last}, or -{w}…-1 from the end)":
        "{what} tem {w} valor (0…{last}, ou -{w}…-1 a partir do fim)",
    "{what} has {w} values (0…{last}, or -{w}…-1 from the end)":
        "{what} tem {w} valores (0…{last}, ou -{w}…-1 a partir do fim)",
    "index {k} is out of range: {units}": "o índice {k} está fora do intervalo: {units}",
    "slice bound {bound} is out of range: {units}": "o limite {bound} da fatia está fora do intervalo: {units}",
    "the slice {what} is empty ({units})": "a fatia {what} está vazia ({units})",
    "{what} is empty": "{what} está vazio",
    "vectors of different sizes: {a} has {wa} values, {b} has {wb}":
        "vetores de tamanhos diferentes: {a} tem {wa} valores, {b} tem {wb}",
    "{name}: this trace has no readout (no readout/probs member)":
        "{name}: este registro não tem readout (nenhum membro readout/probs)",
    "empty condition": "condição vazia",
    "the condition is {n} characters long; at most {limit} are accepted":
        "a condição tem {n} caracteres; no máximo {limit} são aceitos",
    "the condition is nested too deeply": "a condição está aninhada fundo demais",
    "the condition is nested too deeply (more than {depth} levels of parentheses, operators, calls or indexing)":
        "a condição está aninhada fundo demais (mais de {depth} níveis de parênteses, operadores, chamadas ou "
        "índices)",
    "malformed number {number}": "número malformado {number}",
    "malformed number {number}; digits are 0-9": "número malformado {number}; os dígitos são 0-9",
    "string has no closing {quote}": "a string não tem o {quote} que a fecha",
    "unexpected character {ch!r}": "caractere inesperado {ch!r}",
    "unexpected character {ch!r}: {hint}": "caractere inesperado {ch!r}: {hint}",
    "use '==' to compare": "use '==' para comparar",
    "use 'not'": "use 'not'",
    "use 'and'": "use 'and'",
    "use 'or'": "use 'or'",
    "there is no '%' operator": "não existe o operador '%'",
    "use '**' for powers": "use '**' para potências",
    "numbers and indices are written with the digits 0-9": "números e índices se escrevem com os dígitos 0-9",
    "expected {op!r}, found {found}": "esperava {op!r}, encontrou {found}",
    "expected {op!r} to close {what}, found {found}": "esperava {op!r} para fechar {what}, encontrou {found}",
    "the '(' at column {column}": "o '(' da coluna {column}",
    "{name}( at column {column}": "o {name}( da coluna {column}",
    "the end of the condition": "o fim da condição",
    "unmatched {bracket!r}": "{bracket!r} sem par",
    "expected an operator or the end of the condition, found {found}":
        "esperava um operador ou o fim da condição, encontrou {found}",
    "the condition ends too early: expected a value": "a condição termina cedo demais: esperava um valor",
    "expected a value, found {found}": "esperava um valor, encontrou {found}",
    "{what} is not a function": "{what} não é uma função",
    "{name} is not a function; index it with {name}[...]": "{name} não é uma função; indexe com {name}[...]",
    "{name} is a function: write {name}(...)": "{name} é uma função: escreva {name}(...)",
    "unknown function {name}; functions are {names}": "função desconhecida {name}; as funções são {names}",
    "unknown function {name} (did you mean {close!r}?); functions are {names}":
        "função desconhecida {name} (seria {close!r}?); as funções são {names}",
    "unknown name {name}; names are {names}": "nome desconhecido {name}; os nomes são {names}",
    "unknown name {name} (did you mean {close!r}?); names are {names}":
        "nome desconhecido {name} (seria {close!r}?); os nomes são {names}",
    "{func}() needs an argument": "{func}() precisa de um argumento",
    "{func}() takes one argument, not {n}": "{func}() recebe um argumento, não {n}",
    "{func}() needs {need}, not {what}": "{func}() precisa de {need}, não de {what}",
    "{func}() needs a vector; {what!r} is one value per step":
        "{func}() precisa de um vetor; {what!r} é um valor por passo",
    "{what!r} is one value per step, not a vector: it cannot be indexed":
        "{what!r} é um valor por passo, não um vetor: não pode ser indexado",
    "expected an index (a whole number), found {found}": "esperava um índice (um número inteiro), encontrou {found}",
    "an index must be a whole number, not {number}": "um índice deve ser um número inteiro, não {number}",
    "index {number} is too large": "o índice {number} é grande demais",
    "unary {op!r} needs a number, not {what}": "o {op!r} unário precisa de um número, não de {what}",
    "'not' needs true/false, not {what}": "'not' precisa de verdadeiro/falso, não de {what}",
    "{op!r} needs numbers, not {what}": "{op!r} precisa de números, não de {what}",
    "{op!r} needs numbers, not {what} (count(...) counts true values)":
        "{op!r} precisa de números, não de {what} (count(...) conta os verdadeiros)",
    "{op!r} needs true/false on both sides, not {what}":
        "{op!r} precisa de verdadeiro/falso dos dois lados, não de {what}",
    "cannot compare {a} with {b}": "não é possível comparar {a} com {b}",
    "cannot compare {a} with {b}; 'nan' alone is true where the layer holds NaN or Inf, isnan(...) tests a value":
        "não é possível comparar {a} com {b}; 'nan' sozinho é verdadeiro onde a camada tem NaN ou Inf, "
        "isnan(...) testa um valor",
    "{op!r} compares numbers; {what} can only be tested with == or !=":
        "{op!r} compara números; {what} só se testa com == ou !=",
    "condition gives a vector; wrap it in any(...) or all(...)":
        "a condição dá um vetor; envolva-o em any(...) ou all(...)",
    "condition gives a vector of numbers; compare it and wrap it in any(...) or all(...), or reduce it first, "
    "e.g. max(...) > 1":
        "a condição dá um vetor de números; compare-o e envolva-o em any(...) ou all(...), ou reduza-o antes, "
        "ex.: max(...) > 1",
    "condition gives a number, not true/false; compare it, e.g. {example} > 0.5":
        "a condição dá um número, não verdadeiro/falso; compare-o, ex.: {example} > 0.5",
    "condition gives a string, not true/false; compare it, e.g. token == 'a'":
        "a condição dá uma string, não verdadeiro/falso; compare-a, ex.: token == 'a'",
    # The words of the types, inside the errors above.
    "a number": "um número",
    "true/false": "verdadeiro/falso",
    "true/false values": "valores verdadeiro/falso",
    "a string": "uma string",
    "a vector of numbers": "um vetor de números",
    "a vector of true/false": "um vetor de verdadeiro/falso",
    "strings": "strings",
    # -- conditions II: letters of the vocabulary, computed indices, delta ------
    "{op!r} cannot order letters; compare an index with a letter using == or !=":
        "{op!r} não ordena letras; compare um índice com uma letra usando == ou !=",
    "{what!r} is not an index (a whole number per step): only an index, such as argmax(p), compares with a "
    "letter of the vocabulary":
        "{what!r} não é um índice (um número inteiro por passo): só um índice, como argmax(p), se compara com "
        "uma letra do vocabulário",
    "{what} is compared with an index, which reads the trace's vocabulary; this trace has none (no readout/vocab "
    "member)":
        "{what} é comparado com um índice, que lê o vocabulário do trace; este trace não tem nenhum (sem o membro "
        "readout/vocab)",
    "{letter} is not in the vocabulary ({vocab})": "{letter} não está no vocabulário ({vocab})",
    "an index must be a number, not {what}": "um índice deve ser um número, não {what}",
    "an index must be one number per step; {what!r} is a vector":
        "um índice deve ser um número por passo; {what!r} é um vetor",
    "slice bounds are whole numbers, not expressions": "os limites de uma fatia são números inteiros, não expressões",
    "the '[' at column {column}": "o '[' da coluna {column}",
    # -- notices ----------------------------------------------------------
    "comparison closed: the new trace does not match B": "comparação encerrada: o novo registro não corresponde a B",
    "comparison closed: the reloaded trace does not match B":
        "comparação encerrada: o registro recarregado não corresponde a B",
    "{finding}; H lists the findings": "{finding}; H lista os achados",
    "health: {alarm}": "saúde: {alarm}",
    "scan failed": "a varredura falhou",
    "could not open the trace": "não foi possível abrir o registro",
    "could not size the bars": "não foi possível dimensionar as barras",
    "screenshot not saved": "captura de tela não salva",
    "saved {path}": "salva em {path}",
    "trace opened": "registro aberto",
    "live: {text}": "ao vivo: {text}",
    # -- the trace's file changes underneath (files.py) --------------------
    "the trace's file no longer loads · o opens another": "o arquivo do registro não carrega mais · o abre outro",
    "no trace: its file changed on disk": "sem registro: o arquivo mudou no disco",
    "{name}: {why}; loading it again…": "{name}: {why}; carregando de novo…",
    "second run's file changed": "o arquivo da segunda execução mudou",
    "trace file changed": "o arquivo do registro mudou",
    "{name}: {why} while open; it now holds a run that cannot be compared ({incomparable}). "
    "The comparison is closed.":
        "{name}: {why} enquanto aberto; agora contém uma execução que não pode ser comparada "
        "({incomparable}). A comparação foi encerrada.",
    "{name}: {why} while open; it was loaded again": "{name}: {why} enquanto aberto; foi carregado de novo",
    "second run reloaded": "segunda execução recarregada",
    "trace reloaded": "registro recarregado",
    "{name}: {why} while open, and it no longer loads ({error}).":
        "{name}: {why} enquanto aberto, e não carrega mais ({error}).",
    "Still showing the trace as it was loaded.": "O registro continua na tela como foi carregado.",
    "The comparison is closed.": "A comparação foi encerrada.",
    "Still comparing with the run as it was loaded.": "A comparação segue com a execução como foi carregada.",
    # What happened to a trace's file (core/trace.py, ``Trace.changed_on_disk``).
    "the file was truncated from {old} to {new} bytes": "o arquivo foi truncado de {old} para {new} bytes",
    "the file was removed or renamed": "o arquivo foi removido ou renomeado",
    "the file can no longer be examined ({why})": "o arquivo não pode mais ser examinado ({why})",
    "the file was replaced by another file": "o arquivo foi substituído por outro",
    "the file was rewritten": "o arquivo foi reescrito",
    # Why two runs cannot be compared (debug/diff.py, ``check_comparable``).
    "A has {a} layer(s), B has {b}": "A tem {a} camada(s), B tem {b}",
    "layer {k}: A has {a} units, B has {b}": "camada {k}: A tem {a} unidades, B tem {b}",
    "layer {k}: A's input x has {a} values, B's has {b}":
        "camada {k}: a entrada x de A tem {a} valores, a de B tem {b}",
    # -- dialogs ----------------------------------------------------------
    "go to step": "ir para o passo",
    "step 0…{last} (now {now}); Enter to go, Esc to cancel": "passo 0…{last} (agora {now}); Enter vai, Esc cancela",
    "a step between 0 and {last}": "um passo entre 0 e {last}",
    "not a step": "não é um passo",
    "open trace file": "abrir arquivo de registro",
    "path of a .npz trace; Enter to open, Esc to cancel": "caminho de um registro .npz; Enter abre, Esc cancela",
    "add breakpoint": "adicionar ponto de parada",
    "stop where this holds on {where}; Enter to add, Esc to cancel":
        "parar onde isto vale na {where}; Enter adiciona, Esc cancela",
    "e.g. f[7] < 0.05   max(abs(c)) > 5   token == 'q'   nan":
        "ex.: f[7] < 0.05   max(abs(c)) > 5   token == 'q'   nan",
    "column {column}: {message}": "coluna {column}: {message}",
    "the trace's file changed": "o arquivo do registro mudou",
    "o open another trace · q quit · Esc close this message": "o abre outro registro · q sai · Esc fecha esta mensagem",
    "search tokens": "buscar tokens",
    "part of a token (case-sensitive), or 'quoted' for the whole token; Enter to search, Esc to cancel":
        "parte de um token (maiúsculas contam), ou 'entre aspas' para o token inteiro; Enter busca, Esc cancela",
    # -- breakpoints, health and watches panes ------------------------------
    "no breakpoints: b adds one, e.g. f[0] < 0.05 or max(abs(c)) > 5":
        "nenhum ponto de parada: b adiciona um, ex.: f[0] < 0.05 ou max(abs(c)) > 5",
    "{n} hit": "{n} parada",
    "{n} hits": "{n} paradas",
    "off": "desligado",
    "{n} · {on} on · layer {k}": "{n} · {on} ligados · camada {k}",
    "space on/off · x delete · Enter next hit": "espaço liga/desliga · x apaga · Enter próxima parada",
    "error": "erro",
    "warn": "aviso",
    "info": "info",
    "{n} error": "{n} erro",
    "{n} errors": "{n} erros",
    "{n} warning": "{n} aviso",
    "{n} warnings": "{n} avisos",
    "{n} info": "{n} info",
    "{n} infos": "{n} infos",
    "scanning…": "verificando…",
    "nothing found": "nada encontrado",
    "Enter goes there": "Enter vai lá",
    "Enter selects · x unpins": "Enter seleciona · x desafixa",
    "w pins the selected unit": "w fixa a unidade escolhida",
    # -- the model panel --------------------------------------------------
    "none": "nenhum",
    "type letters…": "digite letras…",
    "model off: this session does not load the model": "modelo desligado: esta sessão não carrega o modelo",
    "type letters to ask the model (it loads on first use)":
        "digite letras para perguntar ao modelo (ele carrega no primeiro uso)",
    "loading model…": "carregando o modelo…",
    "vocabulary {vocab} · Enter records a pass": "vocabulário {vocab} · Enter grava uma passagem",
    "model failed to load: {why}": "o modelo não carregou: {why}",
    "could not record: {why}": "não foi possível gravar: {why}",
    "{letters} not in the vocabulary {vocab}": "{letters} fora do vocabulário {vocab}",
    "after {text}:": "depois de {text}:",
    "the model is still loading…": "o modelo ainda está carregando…",
    "recording a forward pass of {text}…": "gravando uma passagem direta de {text}…",
    "recorded {text}: now in the debugger": "{text} gravado: agora no depurador",
    "P(next) per step": "P(próxima) por passo",
    "as in training": "como no treino",
    "outside its training": "fora do treino",
    # -- light install ----------------------------------------------------
    "{why}; loading it through Keras needs TensorFlow: {command}":
        "{why}; carregá-lo pelo Keras precisa do TensorFlow: {command}",
    # -- panes, timeline, small terminals -----------------------------------
    "B has {steps} steps": "B tem {steps} passos",
    "{token} (one-hot {hot})": "{token} (one-hot {hot})",
    "one-hot {hot}": "one-hot {hot}",
    "terminal too small: need at least {need}": "terminal pequeno demais: precisa de pelo menos {need}",
    "too small: need {need}": "pequeno demais: precisa de {need}",
    "need {need}": "precisa de {need}",
    # -- overview ------------------------------------------------------------
    "Overview": "Visão geral",
    "Show or hide the heat map of the focused vector":
        "Mostrar ou esconder o mapa de calor do vetor em foco",
    "overview": "visão geral",
    "cursor": "cursor",
    "Cursor back a step": "Cursor um passo para trás",
    "Cursor forward a step": "Cursor um passo para frente",
    "Cursor up a unit": "Cursor uma unidade acima",
    "Cursor down a unit": "Cursor uma unidade abaixo",
    "Cursor back a screenful": "Cursor uma tela para trás",
    "Cursor forward a screenful": "Cursor uma tela para frente",
    "Cursor to the first step": "Cursor no primeiro passo",
    "Cursor to the last step": "Cursor no último passo",
    "Go to the cursor's step and unit, and back to the panes":
        "Ir para o passo e a unidade do cursor, e voltar aos painéis",
    "Close": "Fechar",
    "Close the overview (O too)": "Fechar a visão geral (O também)",
    "overview: already at the first step": "visão geral: já no primeiro passo",
    "overview: already at the last step": "visão geral: já no último passo",
    "overview: already at the first row": "visão geral: já na primeira linha",
    "overview: already at the last row": "visão geral: já na última linha",
    "row {row}": "linha {row}",
    "a column a step, two units a row": "uma coluna por passo, duas unidades por linha",
    # -- explain ------------------------------------------------------------
    # The notebook's words: esquece, entrada, candidato, memória, saída; what
    # the cell update keeps ("fica") and writes ("escrito"), as the lesson says.
    "explain": "explicação",
    "unit {unit} · t = {t}": "unidade {unit} · t = {t}",
    "token {token}": "token {token}",
    "token A {a} B {b}": "token A {a} B {b}",
    "run {label}": "execução {label}",
    "{n} more: {keys}": "mais {n}: {keys}",
    "↓ or z": "↓ ou z",
    "E then ↓ or z": "E e depois ↓ ou z",
    "(recorded)": "(gravado)",
    "≠ trace holds {value}": "≠ o registro tem {value}",
    "cell update": "atualização da memória",
    "kept": "fica",
    "written": "escrito",
    "mostly remembered": "sobretudo memória antiga",
    "mostly new": "sobretudo novo",
    "hidden state": "saída do bloco",
    "input terms": "termos da entrada",
    "recurrent terms": "termos recorrentes",
    "{n} more": "mais {n}",
    "+ {n} more": "+ mais {n}",
    "the {cap} largest of {n} by |product|": "os {cap} maiores de {n} por |produto|",
    "{name} for {used}": "{name} para {used}",
    "for {used}": "para {used}",
    "≈ where the rounded numbers shown miss the exact result in the last decimal":
        "≈ onde os números arredondados mostrados diferem do resultado exato na última casa decimal",
    "masked step: ": "passo mascarado: ",
    "the state is carried over, c_t = c_{t-1} = ": "o estado passa adiante, c_t = c_{t-1} = ",
    " and h_t = h_{t-1} = ": " e h_t = h_{t-1} = ",
    "; the gates below were computed but not applied": "; as portas abaixo foram calculadas mas não aplicadas",
    "no weights in this trace: W·x_t, U·h_{t-1} and b are unknown, the gates are as recorded":
        "sem pesos neste registro: W·x_t, U·h_{t-1} e b são desconhecidos, as portas são as gravadas",
    "masked step in {which}: ": "passo mascarado em {which}: ",
    " and ": " e ",
    "the state is carried over there": "o estado passa adiante ali",
    "run B has {n} steps: no step t = {t} to show": "a execução B tem {n} passos: não há passo t = {t} para mostrar",
    "run B has {n} steps: no step t = {t} to compare":
        "a execução B tem {n} passos: não há passo t = {t} para comparar",
    "explain: every line is on screen": "explicação: todas as linhas estão na tela",
    "explain: already at the first line": "explicação: já na primeira linha",
    "explain: already at the last line": "explicação: já na última linha",
    "explain: no weights in this trace to expand": "explicação: sem pesos neste registro para abrir",
    "explain: products are shown for one run; d shows A or B":
        "explicação: os produtos são de uma execução só; d mostra A ou B",
    "scroll": "rolar",
    "Scroll explain up": "Rolar a explicação para cima",
    "Scroll explain down": "Rolar a explicação para baixo",
    "Expand gate": "Abrir porta",
    "Expand a gate into its products W·x_t and U·h_{t-1}, weights shown: f, then i, ĉ, o, then none":
        "Abrir uma porta em seus produtos W·x_t e U·h_{t-1}, com os pesos: f, depois i, ĉ, o, depois nenhuma",
    "Formulas": "Fórmulas",
    "Show or hide the activations' formulas (σ, tanh)": "Mostrar ou esconder as fórmulas das ativações (σ, tanh)",
    # -- lesson -------------------------------------------------------------
    # The stages' titles are the seed notebook's own comments (1️⃣ … 7️⃣).
    "Forget gate": "Porta de Esquecer (forget gate)",
    "Input gate": "Porta de Entrada (input gate)",
    "Candidate vector (new values that *may* enter the memory)":
        "Vetor Candidato (valores novos que *podem* entrar na memória)",
    "Memory update": "Atualização da memória",
    "Output gate": "Porta de Saída",
    "Final output of the LSTM block": "Saída final do bloco LSTM",
    "Pass on to the next time step": "Propaga para o próximo tempo",
    "f near 1 keeps the memory c_{t-1}; near 0 forgets it.":
        "f perto de 1 guarda a memória c_{t-1}; perto de 0, esquece.",
    "i says how much of the candidate ĉ is written into the memory.":
        "i diz quanto do candidato ĉ é escrito na memória.",
    "ĉ, between -1 and 1: what this step could write.": "ĉ, entre -1 e 1: o que este passo pode escrever.",
    "what is kept, f·c_{t-1}, plus what is written, i·ĉ.": "o que fica, f·c_{t-1}, mais o que é escrito, i·ĉ.",
    "o says how much of the memory goes out as h.": "o diz quanto da memória sai como h.",
    "h is what the next step and the next layer read.": "h é o que o próximo passo e a próxima camada leem.",
    "h_t {h} and c_t {c} become h_{{t-1}}, c_{{t-1}} at t = {t}":
        "h_t {h} e c_t {c} viram h_{{t-1}}, c_{{t-1}} em t = {t}",
    "t = {t} is the last step: the notebook prints h_t {h} at the end":
        "t = {t} é o último passo: o notebook imprime h_t {h} no fim",
    "lesson {n} of {total} · Enter: next · Backspace: back":
        "lição {n} de {total} · Enter: próxima · Backspace: volta",
    "Next": "Próxima",
    "Back": "Volta",
    "Next stage of the lesson (after 7: the next step)": "Próxima etapa da lição (depois da 7: o próximo passo)",
    "Previous stage of the lesson": "Etapa anterior da lição",
    "the lesson ends here: the last stage of the last step": "a lição termina aqui: a última etapa do último passo",
    "the lesson starts here: the first stage of the first step":
        "a lição começa aqui: a primeira etapa do primeiro passo",
    # -- web (lstm-tui serve: the debugger in a browser) ------------------------
    "sent {name} to the browser": "{name} enviada ao navegador",
    "paths are on the server: {host}, from {folder}": "os caminhos são do servidor: {host}, a partir de {folder}",
    # -- long traces ----------------------------------------------------------
    "scanning {percent}% for {condition}": "verificando {percent}% para {condition}",
    "continuing when the scan ends": "continua quando a verificação terminar",
    "still scanning: continuing when the scan ends": "ainda verificando: continua quando a verificação terminar",
    "could not find the breakpoints' hits": "não foi possível achar onde os breakpoints valem",
    "comparing the runs {percent}%": "comparando as execuções {percent}%",
    # -- what if (e, lstm-tui edit: debug/edit.py, tui/what_if.py) ------------------
    "What if": "E se",
    "What if: change a value at this step (c[7]=0, hold h[7]=0) and re-run what follows":
        "E se: mudar um valor neste passo (c[7]=0, hold h[7]=0) e executar de novo o que segue",
    "what if": "e se",
    "change a value at t = {t} on layer {k} and re-run what follows; Enter to run, Esc to cancel":
        "mudar um valor em t = {t} na camada {k} e executar de novo o que segue; Enter para executar, Esc "
        "para cancelar",
    "e.g. c[{u}]=0   hold h[{u}]=0   x[0]=1   W_f[{u},0]=0   several: a; b":
        "ex.: c[{u}]=0   hold h[{u}]=0   x[0]=1   W_f[{u},0]=0   vários: a; b",
    "what if failed": "o e-se falhou",
    "what if failed: {why}": "o e-se falhou: {why}",
    "what if: re-running from t = {t}…": "e se: executando de novo a partir de t = {t}…",
    "what if: {edit}; B is the edited run (d: A, B, B − A)":
        "e se: {edit}; B é a execução editada (d: A, B, B − A)",
    "B has no readout: the trace stores no readout/W to recompute it":
        "B não tem saída do modelo: o trace não guarda readout/W para recalculá-la",
    "layer {k} stores no weights: a what-if re-runs it from them":
        "a camada {k} não guarda pesos: um e-se a executa de novo a partir deles",
    "{edits} at t = {t}, layer {k}": "{edits} em t = {t}, camada {k}",
    "{why}, found {found!r}": "{why}, encontrado {found!r}",
    "{why}, found the end": "{why}, encontrado o fim",
    "expected ';' between two edits": "esperado ';' entre duas edições",
    "no edit: write name[index]=value, such as c[3]=0 or hold h[7]=0":
        "nenhuma edição: escreva nome[índice]=valor, como c[3]=0 ou hold h[7]=0",
    "expected a name such as c[3] or W_f[3,5], found {found!r}":
        "esperado um nome como c[3] ou W_f[3,5], encontrado {found!r}",
    "expected a name such as c[3] after {kind}, found {found!r}":
        "esperado um nome como c[3] depois de {kind}, encontrado {found!r}",
    "expected a name such as c[3] after {kind}, found the end":
        "esperado um nome como c[3] depois de {kind}, encontrado o fim",
    "unknown name {name!r} (did you mean {close!r}?); edit one of x f i c_hat c o h or a weight W_f U_f b_f "
    "(gates f i c o)":
        "nome desconhecido {name!r} (quis dizer {close!r}?); edite um de x f i c_hat c o h ou um peso W_f U_f "
        "b_f (portas f i c o)",
    "unknown name {name!r}; edit one of x f i c_hat c o h or a weight W_f U_f b_f (gates f i c o)":
        "nome desconhecido {name!r}; edite um de x f i c_hat c o h ou um peso W_f U_f b_f (portas f i c o)",
    "expected '[' and an index after the name": "esperado '[' e um índice depois do nome",
    "expected a whole number (an index), found {found!r}":
        "esperado um número inteiro (um índice), encontrado {found!r}",
    "expected a whole number (an index), found the end": "esperado um número inteiro (um índice), encontrado o fim",
    "an index is a whole number written with the digits 0-9":
        "um índice é um número inteiro escrito com os dígitos 0-9",
    "{name} takes two indices, row and column: {name}[3,5]": "{name} leva dois índices, linha e coluna: {name}[3,5]",
    "{name} takes one index: {name}[3]": "{name} leva um índice: {name}[3]",
    "expected ']' after the index": "esperado ']' depois do índice",
    "expected '=' and a value": "esperado '=' e um valor",
    "expected a number, such as 0, -1.5, 2e-3, nan or inf": "esperado um número, como 0, -1.5, 2e-3, nan ou inf",
    "a weight edit lasts from the step to the end already: write set, not hold":
        "a edição de um peso já vale do passo até o fim: escreva set, não hold",
    "no layer {k} (the trace has {n})": "não há camada {k} (o trace tem {n})",
    "no step {t} (steps are 0…{last})": "não há passo {t} (os passos são 0…{last})",
    "row {i} is outside {name} (rows 0…{last})": "a linha {i} está fora de {name} (linhas 0…{last})",
    "column {i} is outside {name} (columns 0…{last})": "a coluna {i} está fora de {name} (colunas 0…{last})",
    "input {i} is outside x (inputs 0…{last} on layer {k})":
        "a entrada {i} está fora de x (entradas 0…{last} na camada {k})",
    "unit {i} is outside {name} (units 0…{last} on layer {k})":
        "a unidade {i} está fora de {name} (unidades 0…{last} na camada {k})",
    "{target} is edited twice": "{target} é editado duas vezes",
    "layer {k} stores no weights (member {member!r} is missing), so it cannot be re-run":
        "a camada {k} não guarda pesos (falta o membro {member!r}), então não pode ser executada de novo",
    "layer {j} reads something other than layer {m}'s h (or the concatenated halves of a Bidirectional); "
    "cannot re-run it":
        "a camada {j} lê outra coisa que o h da camada {m} (ou as metades concatenadas de uma Bidirectional); "
        "não é possível executá-la de novo",
    "the trace has a readout (readout/probs) but not the head that computed it (member 'readout/W' is "
    "missing), so the edited run's readout cannot be recomputed; record the trace again, or leave the "
    "readout out with --drop-readout":
        "o trace tem uma saída do modelo (readout/probs) mas não a camada que a calculou (falta o membro "
        "'readout/W'), então a saída da execução editada não pode ser recalculada; grave o trace de novo, ou "
        "deixe a saída de fora com --drop-readout",
    # -- diff timeline (how long a change lives; M: the memory row) -------------------
    "Memory row": "Linha de memória",
    "Show how much of the selected unit's c at this step is left at each later step (Π f) on the timeline; "
    "again at the same step: hide it":
        "Mostrar na linha do tempo quanto do c da unidade selecionada neste passo resta em cada passo "
        "seguinte (Π f); de novo no mesmo passo: ocultar",
    "memory row hidden": "linha de memória oculta",
    "memory row: how much of c at t = {t} is left later (Π f)":
        "linha de memória: quanto do c em t = {t} resta depois (Π f)",
    "Π f from t = {s}": "Π f desde t = {s}",
    "runs agree within tolerance": "as execuções coincidem dentro da tolerância",
    "agree": "coincidem",
    "runs differ beyond tolerance from t = {a} to t = {b} (layer {k})":
        "as execuções diferem além da tolerância de t = {a} a t = {b} (camada {k})",
    "differ t = {a}…{b} (L{k})": "diferem t = {a}…{b} (C{k})",
    "ΔL{k}": "ΔC{k}",
    # -- reach (u, L, s: the unit that matters; S, ctrl+o: saving, going back) ------
    "Go to unit": "Ir para a unidade",
    "Largest |value|": "Maior |valor|",
    "Go to the unit with the largest |value| in the focused pane at t; again: the next":
        "Ir para a unidade de maior |valor| no painel em foco em t; de novo: a seguinte",
    "Sort panes": "Ordenar painéis",
    "Sort the unit panes: by unit, by |value| at t, by |B−A| at t, by saturation":
        "Ordenar os painéis: por unidade, por |valor| em t, por |B−A| em t, por saturação",
    "Save trace as…": "Salvar trace como…",
    "Save trace as… (the trace shown: a live recording, an edited run)":
        "Salvar trace como… (o trace mostrado: uma gravação ao vivo, uma execução editada)",
    "Back to previous trace": "Voltar ao trace anterior",
    "Go back to the trace shown before, where it stood": "Voltar ao trace mostrado antes, onde estava",
    "unit {unit}: largest |{vector}| at t = {t} ({n} of {total})":
        "unidade {unit}: maior |{vector}| em t = {t} ({n} de {total})",
    "unit {unit}: next largest |{vector}| at t = {t} ({n} of {total})":
        "unidade {unit}: próximo maior |{vector}| em t = {t} ({n} de {total})",
    "unit {unit}: smallest |{vector}| at t = {t} ({n} of {total})":
        "unidade {unit}: menor |{vector}| em t = {t} ({n} de {total})",
    "L ranks the focused pane's units: Tab to f, i, ĉ, c, o or h":
        "L ordena as unidades do painel em foco: Tab até f, i, ĉ, c, o ou h",
    "x_t has no units: L ranks f, i, ĉ, c, o or h": "x_t não tem unidades: L ordena f, i, ĉ, c, o ou h",
    "run B has no step {t}": "a execução B não tem o passo {t}",
    "no trace on screen": "nenhum trace na tela",
    "no trace to go back to: o opens another": "nenhum trace para onde voltar: o abre outro",
    "already at the top of the sorted pane": "já no topo do painel ordenado",
    "already at the bottom of the sorted pane": "já no fim do painel ordenado",
    "run {run}: {trace}": "execução {run}: {trace}",
    "back at t = {t}, unit {unit} of {trace}": "de volta em t = {t}, unidade {unit} de {trace}",
    "trace saved": "trace salvo",
    "trace not saved": "trace não salvo",
    "written to {path}": "gravado em {path}",
    "go to unit": "ir para a unidade",
    "unit 0…{last} (now {now}); Enter to go, Esc to cancel":
        "unidade 0…{last} (agora {now}); Enter para ir, Esc para cancelar",
    "a unit between 0 and {last}": "uma unidade entre 0 e {last}",
    "not a unit": "não é uma unidade",
    "save trace as": "salvar trace como",
    "save {what} to a .npz file; Enter to save, Esc to cancel":
        "salvar {what} num arquivo .npz; Enter para salvar, Esc para cancelar",
    "{path} is a folder: name a file in it": "{path} é uma pasta: dê o nome de um arquivo nela",
    "{path} exists: Enter again to replace it": "{path} já existe: Enter de novo para substituí-lo",
    "by |value|": "por |valor|",
    "by |B−A|": "por |B−A|",
    "by saturation": "por saturação",
}


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """"pt" when the locale asks for Portuguese, else "en".

    The POSIX order: ``LC_ALL`` overrides ``LC_MESSAGES``, which overrides
    ``LANG``; an empty variable counts as unset.
    """
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            return "pt" if value.strip().lower().startswith("pt") else "en"
    return "en"


def set_language(lang: str) -> None:
    """Choose the screen's language ("en" or "pt")."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r} (one of: {', '.join(LANGUAGES)})")
    _current = lang


def language() -> str:
    """The screen's language."""
    return _current


#: English texts ``tr`` was asked for in Portuguese and found no entry for,
#: since the last ``MISSES.clear()``: the catalogue test drives the screen in
#: Portuguese and fails on any (it shows the English meanwhile).
MISSES: set[str] = set()


def tr(text: str, /, **values: object) -> str:
    """``text`` in the screen's language, with ``values`` filled in
    (``str.format`` fields). An entry missing from ``PT`` shows the English
    text; the catalogue test fails on it.

    ``text`` may be a ``core.text.Message`` from the debugger or the core
    (a refusal, a note, a finding): its template is looked up and its
    values, Messages among them, are filled into the translation."""
    if isinstance(text, Message):
        values = {**text.values, **values}
        text = text.template
    if _current == "pt":
        found = PT.get(text)
        if found is None:
            MISSES.add(text)
        else:
            text = found
        values = {k: tr(v) if isinstance(v, Message) else v for k, v in values.items()}
    return text.format(**values) if values else text


def N_(text: str) -> str:
    """``text`` itself: marks an English text kept in a table (a severity's
    word, a help section's title) as one to translate when it is shown, so
    that the catalogue test finds it (gettext's name for the same idea)."""
    return text


def say(what: object) -> str:
    """Words from the debugger or the core for the screen: a ``Message``
    (or an exception raised with one) in the screen's language; anything
    else, such as an operating system's error or a file name, as it is."""
    if isinstance(what, BaseException) and what.args and isinstance(what.args[0], Message) \
            and len(what.args) == 1:
        what = what.args[0]
    if isinstance(what, Message):
        return tr(what)
    return str(what)
