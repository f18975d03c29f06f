# Speedup, parallel efficiency and test accuracy against the number of processes.
# gnuplot -e "csv='sweep.csv'; out='speedup.png'; term='pngcairo'; cores=2; spread=1" speedup.gp
# spread=1: the CSV has min_accuracy and max_accuracy, drawn as bars.
set terminal @term
set output out
set datafile separator ','
set key autotitle columnhead
set multiplot layout 1,2 title sprintf('hogwild\_train on %d cores', cores)

set xlabel 'worker processes (N)'
set xtics 1
set grid
set arrow 1 from cores, graph 0 to cores, graph 1 nohead dashtype 2 linecolor rgb '#888888'
set label 1 sprintf(' %d cores', cores) at cores, graph 0.04 textcolor rgb '#666666'

set ylabel 'speedup (T_1 / T_N)'
set y2label 'parallel efficiency'
set yrange [0:*]
set y2range [0:1.2]
set y2tics 0.2
set ytics nomirror
set key top left
plot csv using 1:'speedup' with linespoints linewidth 2 pointtype 7 title 'speedup', \
     csv using 1:1 with lines dashtype 3 linecolor rgb '#444444' title 'ideal', \
     csv using 1:'efficiency' axes x1y2 with linespoints pointtype 5 title 'efficiency'

unset y2label
unset y2tics
set ylabel 'test accuracy (%)'
# From a whole point under the lowest run to 100%: autoscaling would blow a 0.3-point spread
# between runs up to the full height of the plot.
low = spread ? 'min_accuracy' : 'test_accuracy'
set datafile columnheaders
stats csv using low nooutput name 'ACC'
set datafile nocolumnheaders
set yrange [floor(ACC_min) - 1 : 100]
set key top right
if (spread) {
  plot csv using 1:'test_accuracy':'min_accuracy':'max_accuracy' with yerrorlines linewidth 2 \
       pointtype 7 title 'test accuracy (median; bars: lowest, highest run)'
} else {
  plot csv using 1:'test_accuracy' with linespoints linewidth 2 pointtype 7 title 'test accuracy'
}
unset multiplot
