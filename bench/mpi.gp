# Test accuracy and training time against the number of MPI ranks: ours (each recipe in
# DIR/NAME.csv, rows with procs = 1) next to the seed's own results (bench/results/seed-mpi.csv,
# whose times are its ranks' times added up, as it printed them).
# gnuplot -e "dir='bench/results'; name='mpi'" bench/mpi.gp
set datafile separator ","
set terminal pngcairo size 1100,450 font ",10"
set output dir."/".name.".png"
do for [t in "png svg"] {
  if (t eq "svg") { set terminal svg size 1100,450 font ",10"; set output dir."/".name.".svg" }
  set multiplot layout 1,2
  set xlabel "MPI ranks K (--procs 1, --sync epoch)"
  set xtics 1
  set key bottom left
  set ylabel "test accuracy (%)"
  set yrange [80:100]
  plot dir."/".name.".csv" using ($5==1 && strcol(3) eq "scaled" ? $4 : 1/0):9 every ::1 with linespoints title "ours, scaled recipe", \
       "" using ($5==1 && strcol(3) eq "seed" ? $4 : 1/0):9 every ::1 with linespoints title "ours, the seed's recipe", \
       "bench/results/seed-mpi.csv" using 1:2 every ::1 with linespoints title "the seed (mpi4py)"
  set ylabel "seconds"
  set yrange [0:*]
  set key top right
  plot dir."/".name.".csv" using ($5==1 && strcol(3) eq "scaled" ? $4 : 1/0):12 every ::1 with linespoints title "ours, scaled: training wall time", \
       "" using ($5==1 && strcol(3) eq "seed" ? $4 : 1/0):12 every ::1 with linespoints title "ours, seed's recipe: wall time", \
       "bench/results/seed-mpi.csv" using 1:3 every ::1 with linespoints title "the seed: its ranks' times summed"
  unset multiplot
}
