#!/usr/bin/perl
# Rewrites tmux's capture-pane -e output for a renderer that starts every
# line afresh and knows no "default colour" codes: each line starts with
# the attributes running at its start, and every SGR sequence becomes a
# reset followed by the whole state it leaves.
use strict;
use warnings;

my %st = (attrs => {}, fg => '', bg => '');

sub codes {
	my @c = sort keys %{ $st{attrs} };
	push @c, $st{fg} if $st{fg} ne '';
	push @c, $st{bg} if $st{bg} ne '';
	return "\e[0m" . (@c ? "\e[" . join(';', @c) . "m" : '');
}

sub update {
	my @p = split /;/, shift;
	@p = (0) unless @p;
	while (@p) {
		my $c = shift @p;
		$c = 0 if $c eq '';
		if ($c == 0) { %st = (attrs => {}, fg => '', bg => '') }
		elsif ($c == 38 || $c == 48) {
			my $k = shift @p // 5;
			my @v = $k == 5 ? (shift @p // 0) : (shift @p // 0, shift @p // 0, shift @p // 0);
			my $code = join ';', $c, $k, @v;
			if ($c == 38) { $st{fg} = $code } else { $st{bg} = $code }
		}
		elsif ($c == 39) { $st{fg} = '' }
		elsif ($c == 49) { $st{bg} = '' }
		elsif (($c >= 30 && $c <= 37) || ($c >= 90 && $c <= 97)) { $st{fg} = $c }
		elsif (($c >= 40 && $c <= 47) || ($c >= 100 && $c <= 107)) { $st{bg} = $c }
		elsif ($c == 22) { delete @{ $st{attrs} }{1, 2} }
		elsif ($c >= 23 && $c <= 29) { delete $st{attrs}{ $c - 20 } }
		elsif ($c >= 1 && $c <= 9) { $st{attrs}{$c} = 1 }
	}
}

while (my $line = <STDIN>) {
	my $start = codes();
	$line =~ s/\e\[([0-9;]*)m/update($1); codes()/ge;
	print $start, $line;
}
