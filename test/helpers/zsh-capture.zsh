#!/usr/bin/env zsh
# zsh-capture.zsh <fpath dir> <line>: the completions zsh offers for <line> + Tab,
# one a line. It runs a real interactive zsh in a pseudo-terminal (zsh/zpty),
# autoloads the completion functions of <fpath dir> with compinit as a user's
# ~/.zshrc would, and prints what each compadd call would add.
zmodload zsh/zpty || { print -u2 'zsh-capture: no zsh/zpty module'; exit 3 }
local dir=$1 input=$2
local init=$(mktemp)
trap 'rm -f $init' EXIT
cat > $init <<INIT
PS1='' RPROMPT=''
fpath=(${(q)dir} \$fpath)
autoload -Uz compinit && compinit -u -D
zstyle ':completion:*' list-grouped false
compadd() {
  # Calls that only filter (-O, -A, -D) add nothing: pass them through.
  if [[ -n \${(M)@:#-[OAD]} ]]; then builtin compadd "\$@"; return; fi
  local -a hits
  builtin compadd -A hits "\$@"
  (( \$#hits )) && print -rl -- "<match>"\${^hits}
  builtin compadd "\$@"
}
_capture_end() { print -r -- '<end>'; exit }
comppostfuncs=(_capture_end)
bindkey '^I' complete-word
print -r -- '<ready>'
INIT
zpty c zsh -f -i
zpty -w c "source ${(q)init}"
local line
while zpty -r c line; do [[ $line == *'<ready>'* ]] && break; done
zpty -w -n c "$input"$'\t'
while zpty -r c line; do
  [[ $line == *'<end>'* ]] && break
  [[ $line == *'<match>'* ]] && print -r -- ${${line##*<match>}//[$'\r\n']/}
done
zpty -d c
