# How the built module is laid out, as the build promises: it exports only
# the three names load_module looks up (ngx_http_ws_module.map), and the
# functions every message runs through sit together in .text.hot
# (NGX_HTTP_WS_HOT, [[gnu::hot]], compiled at -O2), a few pages rather than
# spread over the whole .so.
use Test::NgxWs;
use Test::More;

my $module = module_path();

sub symbols {
    my (@args) = @_;
    open(my $nm, '-|', 'nm', @args, $module) or die "nm: $!";
    my %at;
    while (<$nm>) {
        # "ADDR TYPE NAME", or "TYPE NAME" for an undefined symbol
        my @f = split ' ';
        unshift @f, undef if @f == 2;
        my ($addr, $type, $name) = @f;
        next unless defined $name;
        $at{$name} = { addr => defined $addr ? hex($addr) : undef,
                       type => $type };
    }
    close($nm);
    return \%at;
}

my $exported = symbols('-D', '--defined-only');
is_deeply([sort grep { $exported->{$_}{type} =~ /^[TDBR]$/ } keys %$exported],
          [qw(ngx_module_names ngx_module_order ngx_modules)],
          'the module exports ngx_modules, ngx_module_names, ngx_module_order '
          . 'and nothing else');

my $undefined = symbols('-D', '--undefined-only');

SKIP: {
    # a sanitizer build is compiled at -O, where GCC does not move hot
    # functions to .text.hot
    skip 'a sanitizer build: hot functions are not grouped there', 2
        if grep { /^__asan_init/ } keys %$undefined;

    my $all = symbols();
    my @hot = qw(ngx_http_ws_read_handler ngx_http_ws_process
                 ngx_http_ws_session_reply ngx_http_ws_output_send_lone
                 ngx_http_ws_output_queue ngx_http_ws_frame_alloc
                 ngx_http_ws_metrics_frame_sent wscore_session_receive_to);
    my @missing = grep { !exists $all->{$_} } @hot;
    is("@missing", '', 'the per-message functions are in the symbol table');

    my @addrs = map { $all->{$_}{addr} } grep { exists $all->{$_} } @hot;
    my ($lo, $hi) = (sort { $a <=> $b } @addrs)[0, -1];
    my $span = $hi - $lo;
    cmp_ok($span, '<', 16384,
           "the per-message functions lie within 16 KiB ($span bytes apart; "
           . 'the .so\'s code is over 200 KiB)');
}

done_testing();
